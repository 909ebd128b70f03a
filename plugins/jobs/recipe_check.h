// Validation of a training recipe as the user types it: JSON syntax first (line and column),
// then kanana::train::parse_recipe, whose errors name the field ("field 'stages[0].schedule.
// peak_lr' must be a positive number"). The field is located in the text so the editor can
// mark the line. This header is Torch-free; recipe_check.cpp is the plugin's one translation
// unit that sees LibTorch (train/recipe.h pulls it in), built in its own small library.
#pragma once

#include <QString>

namespace kanana::jobsplugin {

struct RecipeCheck {
  bool ok = false;
  QString message;   // the full error ("recipe.json: field 'seq_len' must be >= 1"), or a summary when ok
  QString field;     // dotted field path named by the error ("stages[0].schedule.peak_lr"); empty if none
  int line = 0;      // 1-based line of the error in the text (syntax error, or where the field is); 0 = unknown
  int column = 0;    // 1-based column for syntax errors; 0 = unknown
  QString type;      // recipe "type" when it parsed ("pretrain", "sft", ...)
  QString name;      // recipe "name" when it parsed
  int stages = 0;    // number of stages (types with stages)
  qint64 tokenBudget = 0;  // sum of the stages' token budgets
  // Files the recipe names that do not exist here (packs, model config, init checkpoint,
  // validation packs), each as "field 'stages[0].sources[1].path': /abs/path does not exist".
  // Warnings, not errors: for an SSH or Slurm target the files live on the other machine.
  QStringList warnings;
};

// `origin` names the recipe in messages (a file name); relative paths in the recipe resolve
// against `baseDir` (the folder of the recipe file), as `kanana train` resolves them.
RecipeCheck checkRecipeText(const QString& text, const QString& origin, const QString& baseDir);

// The field path named in a core error message ("...: field 'a.b[1].c' ..."), or empty.
QString fieldFromMessage(const QString& message);
// Best-effort 1-based line of `fieldPath` ("stages[1].schedule.kind") in JSON `text`: the
// line holding the last key, searched after the keys before it; 0 if not found.
int locateField(const QString& text, const QString& fieldPath);

// Recipe types this process can train (registered by the linked core libraries).
QStringList recipeTypes();

}  // namespace kanana::jobsplugin
