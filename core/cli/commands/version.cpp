// `kanana doctor`: what this build and machine offer (LibTorch, BLAS, threads, CUDA).
#include <torch/torch.h>

#include <cstdio>
#include <thread>

#include "cli/registry.h"

namespace kanana::cli {

KANANA_COMMAND(doctor) {
  return {.path = "doctor",
          .summary = "print the LibTorch build, BLAS, threads and devices this build can use",
          .run = [](const Args&, Context&) {
            std::printf("libtorch: %s\n", TORCH_VERSION);
            std::printf("hardware threads: %u, torch intra-op threads: %d\n",
                        std::thread::hardware_concurrency(), torch::get_num_threads());
            std::printf("cuda: %s (%zu devices)\n", torch::cuda::is_available() ? "yes" : "no",
                        torch::cuda::is_available() ? torch::cuda::device_count() : size_t(0));
            std::printf("%s\n", at::show_config().c_str());
            return kExitOk;
          }};
}

}  // namespace kanana::cli
