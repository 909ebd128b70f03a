// See recipe_form.h.
#include "recipe_form.h"

#include <QObject>

#include "embed/contrastive_spec.h"
#include "posttrain/posttrain_spec.h"
#include "surgery/distill_spec.h"
#include "train/optimizer_options.h"
#include "train/recipe.h"

namespace kanana::jobsplugin {

std::vector<gui::FormSection> recipeFormSections(const std::string& type) {
  using gui::optionSection;
  std::vector<gui::FormSection> s;
  s.push_back(optionSection(QObject::tr("Recipe"), {}, train::recipe_option_fields()));
  if (type == "distill") {
    s.push_back(optionSection(QObject::tr("Distillation (distill)"), {"distill"}, surgery::distill_option_fields()));
  } else if (type == "sft" || type == "reward") {
    s.push_back(optionSection(QObject::tr("Data (%1)").arg(QString::fromStdString(type)), {type}, posttrain::data_spec_fields()));
  } else if (type == "dpo") {
    s.push_back(optionSection(QObject::tr("DPO (dpo)"), {"dpo"}, posttrain::dpo_task_fields()));
    s.push_back(optionSection(QObject::tr("Data (dpo)"), {"dpo"}, posttrain::data_spec_fields()));
    s.push_back(optionSection(QObject::tr("Online DPO (dpo.online)"), {"dpo", "online"}, posttrain::online_spec_fields()));
  } else if (type == "contrastive") {
    s.push_back(optionSection(QObject::tr("Contrastive (contrastive)"), {"contrastive"}, embed::contrastive_option_fields()));
  }
  s.push_back(optionSection(QObject::tr("Optimizer (optimizer)"), {"optimizer"}, train::adamw_option_fields()));
  s.push_back(optionSection(QObject::tr("Validation (validation)"), {"validation"}, train::validation_option_fields()));
  s.push_back(optionSection(QObject::tr("Checkpoints (checkpoint)"), {"checkpoint"}, train::checkpoint_option_fields()));
  s.push_back(optionSection(QObject::tr("Runtime (runtime)"), {"runtime"}, train::runtime_option_fields()));
  return s;
}

}  // namespace kanana::jobsplugin
