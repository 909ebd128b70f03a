// The Jobs page's recipe form: which option tables (core/base/options.h) a recipe type's form
// shows, as gui::OptionsForm sections bound to the recipe's blocks — the keys every type
// shares (top level, "optimizer", "validation", "checkpoint", "runtime") and the type's own
// block ("distill", "sft", "reward", "dpo" and "dpo.online", "contrastive"). Everything else
// (model, stages, sources) is edited in the JSON tab. Torch-free (kanana_train_spec's tables).
#pragma once

#include <string>
#include <vector>

#include "sdk/options_form.h"

namespace kanana::jobsplugin {

std::vector<gui::FormSection> recipeFormSections(const std::string& type);

}  // namespace kanana::jobsplugin
