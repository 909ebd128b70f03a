// Named model shapes in one registry (torchtitan style): tests use `debug`, CPU demos `tiny`,
// benchmarks `small-100m`, and `kanana-nano-2.1b` is the released shape, field for field.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "model/config.h"

namespace kanana::model {

struct ModelPreset {
  std::string name;
  std::string description;
  LlamaConfig config;
};

const std::vector<ModelPreset>& model_presets();
// Error lists the known names.
Result<LlamaConfig> preset_config(const std::string& name);

}  // namespace kanana::model
