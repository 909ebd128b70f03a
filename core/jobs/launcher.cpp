#include "jobs/launcher.h"

#include "jobs/local_launcher.h"
#include "jobs/slurm_launcher.h"
#include "jobs/ssh_launcher.h"

namespace kanana::jobs {

std::unique_ptr<Launcher> make_launcher(TargetKind kind, const LauncherOptions& options) {
  switch (kind) {
    case TargetKind::kSsh: return std::make_unique<SshLauncher>(options);
    case TargetKind::kSlurm: return std::make_unique<SlurmLauncher>(options);
    case TargetKind::kLocal: break;
  }
  return std::make_unique<LocalLauncher>(options);
}

}  // namespace kanana::jobs
