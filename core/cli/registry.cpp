#include "cli/registry.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "base/strings.h"

namespace kanana::cli {
namespace {

std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}

std::vector<std::string> words(const std::string& path) {
  std::vector<std::string> out;
  for (auto& w : split(path, ' '))
    if (!w.empty()) out.push_back(w);
  return out;
}

void print_group_help(const std::vector<std::string>& prefix) {
  const std::string p = join(prefix, " ");
  std::printf("Usage: kanana %s%sCOMMAND [OPTIONS]\n\n", p.c_str(), p.empty() ? "" : " ");
  if (prefix.empty())
    std::printf("Kanana Workbench command line: every job the workbench can run, headless.\n\n");
  std::printf("Commands:\n");
  std::vector<const Command*> listed;
  for (const auto& c : registry()) {
    auto w = words(c.path);
    if (w.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), w.begin()))
      listed.push_back(&c);
  }
  std::sort(listed.begin(), listed.end(), [](auto* a, auto* b) { return a->path < b->path; });
  for (const auto* c : listed) std::printf("  %-24s %s\n", c->path.c_str(), c->summary.c_str());
  std::printf("\nRun 'kanana COMMAND --help' for the options of one command.\n"
              "Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted.\n");
}

void print_command_help(const Command& c) {
  std::printf("Usage: kanana %s [OPTIONS]%s%s\n\n%s\n", c.path.c_str(),
              c.positional.name.empty() ? "" : " ", c.positional.name.c_str(), c.summary.c_str());
  if (!c.description.empty()) std::printf("\n%s\n", c.description.c_str());
  std::printf("\nOptions:\n%s", format_options_help(c.options).c_str());
}

}  // namespace

void register_command(Command command) { registry().push_back(std::move(command)); }
const std::vector<Command>& commands() { return registry(); }

int report_error(const Status& status, bool usage) {
  if (status.code() == StatusCode::kCancelled) {
    std::fprintf(stderr, "kanana: cancelled\n");
    return kExitCancelled;
  }
  std::fprintf(stderr, "kanana: error: %s\n", status.message().c_str());
  return usage && status.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

int run_cli(const std::vector<std::string>& argv, Context& context) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help") {
    print_group_help({});
    return argv.empty() ? kExitUsage : kExitOk;
  }
  if (argv[0] == "--version") {
    std::printf("kanana %s\n", KANANA_VERSION);
    return kExitOk;
  }
  // Longest command path that matches the leading words.
  const Command* best = nullptr;
  size_t best_len = 0;
  for (const auto& c : registry()) {
    auto w = words(c.path);
    if (w.size() <= argv.size() && w.size() > best_len && std::equal(w.begin(), w.end(), argv.begin())) {
      best = &c;
      best_len = w.size();
    }
  }
  if (!best) {
    // A group prefix ("kanana model") prints that group's commands.
    std::vector<std::string> prefix;
    for (const auto& a : argv) {
      if (!a.empty() && a[0] == '-') break;
      prefix.push_back(a);
    }
    bool is_group = false;
    for (const auto& c : registry()) {
      auto w = words(c.path);
      if (!prefix.empty() && w.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), w.begin()))
        is_group = true;
    }
    const bool help = std::find(argv.begin(), argv.end(), "--help") != argv.end() ||
                      std::find(argv.begin(), argv.end(), "-h") != argv.end();
    if (is_group) {
      print_group_help(prefix);
      return help ? kExitOk : kExitUsage;
    }
    std::fprintf(stderr, "kanana: unknown command '%s'. Run 'kanana --help' for the list.\n",
                 join(prefix.empty() ? argv : prefix, " ").c_str());
    return kExitUsage;
  }
  std::vector<std::string> rest(argv.begin() + static_cast<long>(best_len), argv.end());
  bool wants_help = false;
  auto args = parse_args(best->options, best->positional, rest, &wants_help);
  if (wants_help) {
    print_command_help(*best);
    return kExitOk;
  }
  if (!args.is_ok()) {
    std::fprintf(stderr, "kanana %s: %s\nRun 'kanana %s --help' for usage.\n", best->path.c_str(),
                 args.status().message().c_str(), best->path.c_str());
    return kExitUsage;
  }
  return best->run(*args, context);
}

}  // namespace kanana::cli
