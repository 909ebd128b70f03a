// See recipe_check.h.
#include "train/recipe.h"

#include <filesystem>

#include <QRegularExpression>
#include <QStringList>

#include "base/json.h"
#include "recipe_check.h"

namespace kanana::jobsplugin {

QString fieldFromMessage(const QString& message) {
  static const QRegularExpression kField(QStringLiteral("field '([^']+)'"));
  const auto m = kField.match(message);
  return m.hasMatch() ? m.captured(1) : QString();
}

int locateField(const QString& text, const QString& fieldPath) {
  if (fieldPath.isEmpty()) return 0;
  // "stages[1].schedule.kind" → keys with the array index each one is followed by.
  struct Part {
    QString key;
    int index = -1;
  };
  QList<Part> parts;
  static const QRegularExpression kPart(QStringLiteral("([^.\\[\\]]+)((?:\\[\\d+\\])*)"));
  for (auto it = kPart.globalMatch(fieldPath); it.hasNext();) {
    const auto m = it.next();
    Part p;
    p.key = m.captured(1);
    const QString idx = m.captured(2);
    if (!idx.isEmpty()) p.index = idx.mid(idx.lastIndexOf('[') + 1).chopped(1).toInt();
    parts.append(p);
  }
  qsizetype pos = 0;
  qsizetype found = -1;
  for (qsizetype i = 0; i < parts.size(); ++i) {
    const QRegularExpression key(QStringLiteral("\"%1\"\\s*:").arg(QRegularExpression::escape(parts[i].key)));
    const auto m = key.match(text, pos);
    if (!m.hasMatch()) break;
    found = m.capturedStart();
    pos = m.capturedEnd();
    // Element k of an array of objects: skip k occurrences of the next key.
    if (parts[i].index > 0 && i + 1 < parts.size()) {
      const QRegularExpression next(QStringLiteral("\"%1\"\\s*:").arg(QRegularExpression::escape(parts[i + 1].key)));
      for (int k = 0; k < parts[i].index; ++k) {
        const auto n = next.match(text, pos);
        if (!n.hasMatch()) break;
        pos = n.capturedEnd();
      }
    }
  }
  if (found < 0) return 0;
  return int(text.left(found).count(QLatin1Char('\n'))) + 1;
}

RecipeCheck checkRecipeText(const QString& text, const QString& origin, const QString& baseDir) {
  RecipeCheck out;
  const std::string name = origin.isEmpty() ? std::string("recipe") : origin.toStdString();
  auto json = parse_json(text.toStdString(), name);
  if (!json.is_ok()) {
    out.message = QString::fromStdString(json.status().message());
    // "<origin>:L:C: invalid JSON (...)"
    static const QRegularExpression kLineCol(QStringLiteral(":(\\d+):(\\d+): invalid JSON"));
    const auto m = kLineCol.match(out.message);
    if (m.hasMatch()) {
      out.line = m.captured(1).toInt();
      out.column = m.captured(2).toInt();
    }
    return out;
  }
  Result<train::Recipe> recipe = invalid_argument("unchecked");
  try {
    recipe = train::parse_recipe(*json, name, baseDir.toStdString());
  } catch (const std::exception& e) {
    // No exception may reach the GUI; the parsers return statuses, this is a last guard.
    out.message = QStringLiteral("%1: %2").arg(origin, QString::fromUtf8(e.what()));
    return out;
  }
  if (!recipe.is_ok()) {
    out.message = QString::fromStdString(recipe.status().message());
    out.field = fieldFromMessage(out.message);
    out.line = locateField(text, out.field);
    return out;
  }
  out.ok = true;
  auto missing = [&](const std::filesystem::path& path, const QString& field) {
    std::error_code ec;
    if (!path.empty() && !std::filesystem::exists(path, ec))
      out.warnings.append(QStringLiteral("field '%1': %2 does not exist here").arg(field, QString::fromStdString(path.string())));
  };
  missing(recipe->model.config, QStringLiteral("model.config"));
  missing(recipe->model.init_from, QStringLiteral("model.init_from"));
  for (size_t i = 0; i < recipe->stages.size(); ++i)
    for (size_t j = 0; j < recipe->stages[i].sources.size(); ++j)
      missing(recipe->stages[i].sources[j].path, QStringLiteral("stages[%1].sources[%2].path").arg(i).arg(j));
  for (const auto& p : recipe->validation.packs) {
    bool isSource = false;  // already reported under its stage
    for (const auto& s : recipe->stages)
      for (const auto& src : s.sources) isSource |= src.path == p;
    if (!isSource) missing(p, QStringLiteral("validation.path"));
  }
  out.type = QString::fromStdString(recipe->type);
  out.name = QString::fromStdString(recipe->name);
  out.stages = int(recipe->stages.size());
  for (const auto& s : recipe->stages) out.tokenBudget += qint64(s.token_budget);
  out.message = out.stages > 0
                    ? QStringLiteral("valid %1 recipe: %2 stage(s), %3 tokens").arg(out.type).arg(out.stages).arg(out.tokenBudget)
                    : QStringLiteral("valid %1 recipe").arg(out.type);
  return out;
}

QStringList recipeTypes() {
  QStringList out;
  for (const auto& t : train::recipe_types()) out.append(QString::fromStdString(t));
  return out;
}

}  // namespace kanana::jobsplugin
