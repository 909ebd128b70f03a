// FilterModel: column-wise re-evaluation of a filter recipe, mirroring data::apply_filters.
#include "filter_model.h"

#include <algorithm>
#include <cmath>

#include "base/files.h"
#include "corpus_index.h"
#include "signals_cache.h"

namespace kanana::datainspector {

Json recipe_to_json(const data::FilterRecipe& recipe) {
  Json rules = Json::array();
  for (const auto& r : recipe.rules) {
    Json j;
    j["name"] = r.name;
    if (r.kind == data::FilterRule::Kind::kLanguage) {
      j["type"] = "language";
      j["keep"] = r.keep_langs;
      j["min_score"] = r.min_score;
    } else {
      j["signal"] = r.signal;
      if (r.min) j["min"] = *r.min;
      if (r.max) j["max"] = *r.max;
    }
    Json when = Json::object();
    if (!r.when_langs.empty()) when["lang"] = r.when_langs;
    if (!r.when_signal.empty()) {
      when["signal"] = r.when_signal;
      if (r.when_min) when["min"] = *r.when_min;
      if (r.when_max) when["max"] = *r.when_max;
    }
    if (!when.empty()) j["when"] = when;
    if (!r.enabled) j["enabled"] = false;
    if (!r.description.empty()) j["description"] = r.description;
    rules.push_back(std::move(j));
  }
  return Json{{"name", recipe.name}, {"rules", rules}};
}

FilterModel::FilterModel(SignalsCache* cache, QObject* parent) : QObject(parent), cache_(cache) {
  timer_.setSingleShot(true);
  timer_.setInterval(150);
  connect(&timer_, &QTimer::timeout, this, &FilterModel::reevaluate);
  // New rows change the counts: fold bursts of them into one evaluation.
  connect(cache_, &SignalsCache::rowsReady, this, &FilterModel::scheduleReevaluate);
}

bool FilterModel::loadRecipe(const QString& path, QString* error) {
  auto recipe = data::load_filter_recipe(path.toStdString());
  if (!recipe.is_ok()) {
    if (error) *error = QString::fromStdString(recipe.status().message());
    return false;
  }
  recipePath_ = path;
  setRecipe(std::move(recipe).value());
  return true;
}

void FilterModel::setRecipe(data::FilterRecipe recipe) {
  recipe_ = std::move(recipe);
  reevaluate();
  Q_EMIT recipeChanged();
}

void FilterModel::setThreshold(int rule, std::optional<double> min, std::optional<double> max) {
  if (rule < 0 || rule >= static_cast<int>(recipe_.rules.size())) return;
  auto& r = recipe_.rules[static_cast<size_t>(rule)];
  if (r.kind != data::FilterRule::Kind::kThreshold) return;
  r.min = min;
  r.max = max;
  reevaluate();
  Q_EMIT recipeChanged();
}

void FilterModel::setRuleEnabled(int rule, bool enabled) {
  if (rule < 0 || rule >= static_cast<int>(recipe_.rules.size())) return;
  recipe_.rules[static_cast<size_t>(rule)].enabled = enabled;
  reevaluate();
  Q_EMIT recipeChanged();
}

std::vector<int> FilterModel::rulesForSignal(const std::string& signal) const {
  std::vector<int> out;
  for (size_t i = 0; i < recipe_.rules.size(); ++i)
    if (recipe_.rules[i].kind == data::FilterRule::Kind::kThreshold && recipe_.rules[i].signal == signal)
      out.push_back(static_cast<int>(i));
  return out;
}

void FilterModel::scheduleReevaluate() {
  if (!timer_.isActive()) timer_.start();
}

void FilterModel::reevaluate() {
  Evaluation e;
  e.removedBy.assign(recipe_.rules.size(), 0);
  e.failedBy.assign(recipe_.rules.size(), 0);
  e.subject.assign(recipe_.rules.size(), {});
  cache_->withColumns([&](const std::vector<RowInfo>& info, const std::vector<std::vector<double>>& cols,
                          const std::vector<std::string>& langs) {
    const size_t n = info.size();
    e.rows = static_cast<qint64>(n);
    e.firstRule.assign(n, kRowPending);
    for (size_t r = 0; r < n; ++r) {
      if (info[r].state == RowState::kReady) e.firstRule[r] = kRowKept, ++e.evaluated;
      else if (info[r].state == RowState::kBad) e.firstRule[r] = kRowBad, ++e.bad;
    }
    // A language index → "is in this list" table, so the row loop compares bytes, not strings.
    auto langMask = [&](const std::vector<std::string>& list) {
      std::vector<char> mask(langs.size() + 1, 0);  // slot langs.size(): no language ("")
      for (size_t i = 0; i < langs.size(); ++i)
        mask[i] = std::find(list.begin(), list.end(), langs[i]) != list.end();
      mask[langs.size()] = std::find(list.begin(), list.end(), std::string()) != list.end();
      return mask;
    };
    auto slot = [&](int16_t lang) { return lang < 0 ? langs.size() : static_cast<size_t>(lang); };
    for (size_t ri = 0; ri < recipe_.rules.size(); ++ri) {
      const data::FilterRule& rule = recipe_.rules[ri];
      if (!rule.enabled) continue;
      const bool anyLang = rule.when_langs.empty();
      const std::vector<char> when = langMask(rule.when_langs);
      const int whenCol = rule.when_signal.empty() ? -1 : SignalsCache::columnOf(rule.when_signal);
      const bool isLang = rule.kind == data::FilterRule::Kind::kLanguage;
      const std::vector<char> keep = langMask(rule.keep_langs);
      const int col = isLang ? SignalsCache::langScoreColumn() : SignalsCache::columnOf(rule.signal);
      if (col < 0) continue;  // parse_filter_recipe rejects unknown signals; be safe anyway
      const double* v = cols[static_cast<size_t>(col)].data();
      const double* w = whenCol >= 0 ? cols[static_cast<size_t>(whenCol)].data() : nullptr;
      const double lo = rule.min ? *rule.min : -INFINITY, hi = rule.max ? *rule.max : INFINITY;
      std::vector<uint8_t>& subject = e.subject[ri];
      subject.assign(n, 0);
      for (size_t r = 0; r < n; ++r) {
        if (e.firstRule[r] == kRowPending || e.firstRule[r] == kRowBad) continue;
        if (!anyLang && !when[slot(info[r].lang)]) continue;
        if (w && ((rule.when_min && w[r] < *rule.when_min) || (rule.when_max && w[r] > *rule.when_max))) continue;
        subject[r] = 1;
        const bool pass = isLang ? (keep[slot(info[r].lang)] && v[r] >= rule.min_score) : !(v[r] < lo || v[r] > hi);
        if (pass) continue;
        ++e.failedBy[ri];
        if (e.firstRule[r] == kRowKept) {
          e.firstRule[r] = static_cast<int16_t>(ri);
          ++e.removedBy[ri];
        }
      }
    }
  });
  for (int16_t f : e.firstRule) e.kept += f == kRowKept;
  eval_ = std::move(e);
  Q_EMIT evaluated();
}

int16_t FilterModel::outcome(qint64 row) const {
  if (row < 0 || row >= static_cast<qint64>(eval_.firstRule.size())) return kRowPending;
  return eval_.firstRule[static_cast<size_t>(row)];
}

std::vector<qint64> FilterModel::rowsRemovedBy(int rule) const {
  std::vector<qint64> out;
  for (size_t r = 0; r < eval_.firstRule.size(); ++r)
    if (eval_.firstRule[r] == rule) out.push_back(static_cast<qint64>(r));
  return out;
}

std::vector<qint64> FilterModel::rowsKept() const { return rowsRemovedBy(kRowKept); }

Status FilterModel::exportRecipe(const QString& path) const {
  KANANA_ASSIGN_OR_RETURN(auto writer, AtomicFileWriter::open(path.toStdString()));
  KANANA_RETURN_IF_ERROR(writer->write(recipe_to_json(recipe_).dump(2) + "\n"));
  return writer->commit();
}

Status FilterModel::exportKept(const CorpusIndex& index, const QString& path) const {
  const qint64 rows = index.rowCount();
  if (!index.isComplete() || eval_.evaluated + eval_.bad < rows)
    return failed_precondition("signals are still being computed (" + std::to_string(eval_.evaluated + eval_.bad) +
                               " of " + std::to_string(rows) + " documents); export when the inspector is done");
  KANANA_ASSIGN_OR_RETURN(auto writer, AtomicFileWriter::open(path.toStdString()));
  data::RawRecord raw;
  for (size_t r = 0; r < eval_.firstRule.size(); ++r) {
    if (eval_.firstRule[r] != kRowKept) continue;
    if (!index.rawRecord(static_cast<qint64>(r), &raw)) return internal_error("row " + std::to_string(r) + " vanished");
    raw.bytes.push_back('\n');
    KANANA_RETURN_IF_ERROR(writer->write(raw.bytes));
  }
  return writer->commit();
}

}  // namespace kanana::datainspector
