// See eval_launch.h.
#include "eval_launch.h"

#include <filesystem>
#include <map>

#include "base/strings.h"
#include "eval/eval_job.h"
#include "eval/task.h"

namespace kanana::evaluation {

namespace fs = std::filesystem;

Result<LaunchTask> classify_task(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(fs::path(path) / "manifest.json")) return LaunchTask{path, "ppl"};
    return invalid_argument(path + ": a folder is not a task (pack folders have a manifest.json)");
  }
  if (!fs::is_regular_file(path, ec)) return not_found(path + ": no such task file");
  if (ends_with(path, ".txt")) return LaunchTask{path, "ppl"};
  auto spec = eval::resolve_task(path, std::nullopt);
  if (!spec.is_ok()) return spec.status();
  // A JSONL with a "text" column and no recognised task layout is a corpus to score.
  if (spec->layout == eval::Layout::kGeneric && fs::path(path).extension() != ".json") {
    auto items = eval::load_task_items(*spec, path, /*skip_bad_items=*/true, 1);
    if (!items.is_ok()) return LaunchTask{path, "ppl"};
  }
  return LaunchTask{path, spec->type == eval::TaskType::kGenerate ? "gen" : "mc"};
}

Result<std::vector<jobs::JobSpec>> plan_eval_jobs(const std::vector<CheckpointRef>& checkpoints,
                                                  const std::vector<LaunchTask>& tasks, const LaunchSettings& s) {
  if (checkpoints.empty()) return invalid_argument("pick at least one checkpoint");
  if (tasks.empty()) return invalid_argument("pick at least one task");
  std::map<std::string, std::vector<std::string>> by_command;
  for (const auto& t : tasks) by_command[t.command].push_back(t.path);
  std::vector<jobs::JobSpec> out;
  for (const auto& c : checkpoints) {
    for (const auto& [command, paths] : by_command) {
      eval::EvalJobRequest r;
      r.command = command;
      r.model = c.path;
      r.tasks = paths;
      r.target = s.target;
      std::string first = fs::path(paths.front()).stem().string();
      r.name = "eval-" + command + "-" + c.name + "-" + first + (paths.size() > 1 ? "+" + std::to_string(paths.size() - 1) : "");
      for (char& ch : r.name) {
        if (ch == '/' || ch == ' ') ch = '_';
      }
      if (command != "ppl" && s.num_fewshot >= 0) r.extra_args.insert(r.extra_args.end(), {"--num-fewshot", std::to_string(s.num_fewshot)});
      if (command != "ppl" && s.limit > 0) r.extra_args.insert(r.extra_args.end(), {"--limit", std::to_string(s.limit)});
      if (command != "ppl") r.extra_args.push_back("--skip-bad-items");
      if (command == "ppl" && s.limit > 0) r.extra_args.insert(r.extra_args.end(), {"--max-docs", std::to_string(s.limit)});
      if (s.threads > 0) r.extra_args.insert(r.extra_args.end(), {"--threads", std::to_string(s.threads)});
      r.extra_args.insert(r.extra_args.end(), s.extra_args.begin(), s.extra_args.end());
      KANANA_ASSIGN_OR_RETURN(auto spec, eval::make_eval_job_spec(r));
      out.push_back(std::move(spec));
    }
  }
  return out;
}

}  // namespace kanana::evaluation
