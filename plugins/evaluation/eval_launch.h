// What the page's Launch button starts: one eval job per (checkpoint, command) — `kanana eval
// mc` with every multiple-choice task, `eval gen` with every generative one, `eval ppl` with
// every pack folder or corpus — built with core/eval's job spec (so it runs locally, over SSH
// or under Slurm like training) and recorded by the run registry. Plain C++.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "jobs/job_spec.h"

namespace kanana::evaluation {

struct LaunchTask {
  std::string path;
  std::string command;  // mc | gen | ppl
};

// A pack folder (manifest.json) or a plain-text corpus -> ppl; a task spec or JSONL whose
// layout is generative (gsm8k) -> gen; any other task file -> mc.
Result<LaunchTask> classify_task(const std::string& path);

struct LaunchSettings {
  int num_fewshot = -1;          // -1: the tasks' own
  int64_t limit = 0;             // 0: all items
  int threads = 0;               // 0: the worker's default (all cores)
  jobs::Target target;           // local by default; kanana_binary set by the page
  std::vector<std::string> extra_args;
};

struct CheckpointRef {
  std::string name;
  std::string path;  // as the target sees it
};

Result<std::vector<jobs::JobSpec>> plan_eval_jobs(const std::vector<CheckpointRef>& checkpoints,
                                                  const std::vector<LaunchTask>& tasks,
                                                  const LaunchSettings& settings);

}  // namespace kanana::evaluation
