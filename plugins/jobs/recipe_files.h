// Where recipes come from and how a recipe is made runnable elsewhere: the presets (the
// training recipes shipped in resources/recipes/train, and the demo workspace's tiny CPU
// recipe whose packs the demo pipeline built), and the rewrite of a recipe's relative paths
// when its text is written to another folder (a run folder) than the one it was read from.
#pragma once

#include <QList>
#include <QString>

#include "base/json.h"

namespace kanana::jobsplugin {

struct RecipePreset {
  QString title;        // "Tiny CPU demo", "kanana-8b-gpu-like"
  QString description;  // one line for the tool tip
  QString path;         // the recipe file (relative paths in it resolve against its folder)
};

// resources/recipes/train: $KANANA_RECIPES_DIR, else $KANANA_SOURCE_DIR/resources/recipes/train,
// else <exe dir>/../share/kanana-workbench/recipes/train, else the source tree this was built
// from. Empty if none exists.
QString trainRecipesDir();

// The tiny CPU demo first (from `workspaceDir`/data/demo-pipeline when the demo pipeline
// built its packs there, else the shipped one), then every other recipe of trainRecipesDir()
// (files with a "type" key; model configs are skipped).
QList<RecipePreset> recipePresets(const QString& workspaceDir);

// Keys whose string values (or arrays of strings) are file or folder paths in the recipe
// schemas (common keys and the post-training types): "path", "paths", "config", "init_from",
// "train", "val", "tokenizer", ...
bool isPathKey(const std::string& key);

// A copy of `recipe` in which every relative path under a path key that exists relative to
// `fromDir` is made absolute, so the recipe means the same when written to another folder.
// Paths that do not exist there are left as written (the trainer will name them).
Json absolutizeRecipePaths(const Json& recipe, const QString& fromDir);

}  // namespace kanana::jobsplugin
