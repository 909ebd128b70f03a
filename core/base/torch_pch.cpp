// Anchor translation unit for the shared LibTorch precompiled header (see core/CMakeLists.txt).
#include <torch/torch.h>
