// Stand-in for LibTorch's distributed-autograd context header, which Debian's libtorch-dev
// (1.13) leaves out although its c10d/reducer.hpp includes it. reducer.hpp needs only two
// names from it: the GradCallback type (a static_assert compares it with its own) and
// ContextPtr, a std::shared_ptr held in a Reducer member (RpcContext). Both are declared here
// exactly as LibTorch declares them, so the Reducer's layout is unchanged; the context itself
// (RPC-based distributed autograd) is never used by this project: the Reducer only reads the
// pointer, which stays null outside RPC. core/train/CMakeLists.txt puts this folder on the
// include path of distributed.cpp alone, and only when the real header is missing.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch::distributed::autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace torch::distributed::autograd
