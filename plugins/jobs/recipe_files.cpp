// See recipe_files.h.
#include "recipe_files.h"

#include <QDir>
#include <QFileInfo>

#include <filesystem>

#include "base/files.h"
#include "sdk/install_paths.h"

namespace kanana::jobsplugin {

namespace fs = std::filesystem;

QString trainRecipesDir() {
  QStringList candidates;
  if (qEnvironmentVariableIsSet("KANANA_RECIPES_DIR")) candidates << qEnvironmentVariable("KANANA_RECIPES_DIR");
  candidates << gui::resourcePath(QStringLiteral("recipes/train"));
#ifdef KANANA_SOURCE_RECIPES_DIR
  candidates << QStringLiteral(KANANA_SOURCE_RECIPES_DIR);
#endif
  for (const QString& c : candidates)
    if (QFileInfo(c).isDir()) return QDir::cleanPath(QFileInfo(c).absoluteFilePath());
  return {};
}

namespace {

// "type" and "name" of a recipe file, or an empty type for anything else (model configs).
std::pair<QString, QString> recipeTypeAndName(const QString& path) {
  auto json = read_json_file(path.toStdString());
  if (!json.is_ok() || !json->is_object() || !json->contains("type") || !(*json)["type"].is_string()) return {};
  const QString type = QString::fromStdString((*json)["type"].get<std::string>());
  const QString name = json->contains("name") && (*json)["name"].is_string()
                           ? QString::fromStdString((*json)["name"].get<std::string>())
                           : QFileInfo(path).completeBaseName();
  return {type, name};
}

}  // namespace

QList<RecipePreset> recipePresets(const QString& workspaceDir) {
  QList<RecipePreset> out;
  const QString dir = trainRecipesDir();
  const QString demo = workspaceDir.isEmpty() ? QString()
                                              : workspaceDir + QStringLiteral("/data/demo-pipeline/tiny-cpu-demo.json");
  if (!demo.isEmpty() && QFileInfo::exists(demo)) {
    out.append({QStringLiteral("Tiny CPU demo"),
                QStringLiteral("2-layer Llama, two stages on the demo workspace's en/ko packs; a minute or two on a laptop CPU"),
                demo});
  } else if (!dir.isEmpty() && QFileInfo::exists(dir + QStringLiteral("/tiny-cpu-demo.json"))) {
    out.append({QStringLiteral("Tiny CPU demo"),
                QStringLiteral("2-layer Llama, two stages; needs the packs described in resources/recipes/train/README.md"),
                dir + QStringLiteral("/tiny-cpu-demo.json")});
  }
  if (dir.isEmpty()) return out;
  const QFileInfoList files = QDir(dir).entryInfoList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
  for (const QFileInfo& f : files) {
    if (f.fileName() == QStringLiteral("tiny-cpu-demo.json")) continue;
    const auto [type, name] = recipeTypeAndName(f.absoluteFilePath());
    if (type.isEmpty()) continue;
    QString description = QStringLiteral("%1 recipe %2").arg(type, f.fileName());
    if (name.contains(QStringLiteral("gpu"))) description += QStringLiteral(" (Kanana-like shapes for GPU clusters; launch under Slurm)");
    out.append({name, description, f.absoluteFilePath()});
  }
  return out;
}

bool isPathKey(const std::string& key) {
  static const char* const kKeys[] = {"path", "paths", "config", "init_from", "train", "val", "tokenizer",
                                      "reward_model", "prompts", "reference", "teacher", "file", "data"};
  for (const char* k : kKeys)
    if (key == k) return true;
  return false;
}

namespace {

void absolutize(Json& value, const fs::path& from, bool underPathKey) {
  if (value.is_object()) {
    for (auto& [key, child] : value.items()) absolutize(child, from, isPathKey(key));
  } else if (value.is_array()) {
    for (auto& child : value) absolutize(child, from, underPathKey && child.is_string());
  } else if (value.is_string() && underPathKey) {
    const std::string s = value.get<std::string>();
    if (s.empty() || fs::path(s).is_absolute()) return;
    std::error_code ec;
    const fs::path full = (from / s).lexically_normal();
    if (fs::exists(full, ec)) value = full.string();
  }
}

}  // namespace

Json absolutizeRecipePaths(const Json& recipe, const QString& fromDir) {
  Json out = recipe;
  if (fromDir.isEmpty()) return out;
  absolutize(out, fs::absolute(fromDir.toStdString()), false);
  return out;
}

}  // namespace kanana::jobsplugin
