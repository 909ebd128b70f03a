// See run_series.h.
#include "run_series.h"

#include <algorithm>
#include <cmath>
#include <string_view>

namespace kanana::jobsplugin {

ParsedEvents parseEventLines(const QByteArray& data, quint64 firstLine) {
  ParsedEvents out;
  quint64 line = firstLine;
  qsizetype pos = 0;
  while (pos < data.size()) {
    qsizetype nl = data.indexOf('\n', pos);
    if (nl < 0) nl = data.size();
    std::string_view text(data.constData() + pos, size_t(nl - pos));
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") != std::string_view::npos) {
      auto event = jobs::parse_event_line(text, int64_t(line));
      if (event.is_ok()) {
        out.events.push_back(std::move(event).value());
      } else {
        out.corrupt.append(QString::fromStdString(event.status().message()));
      }
    }
    ++line;
    pos = nl + 1;
  }
  return out;
}

void RunSeries::clear() { *this = RunSeries(); }

void RunSeries::addPoint(const QString& name, double step, double value, QSet<QString>& changed) {
  if (!std::isfinite(value)) {
    ++skipped_;
    return;
  }
  MetricPoints& m = metrics_[name];
  if (!m.steps.isEmpty() && step <= m.steps.back()) {
    // A resumed run continues from its checkpoint: drop what the interrupted run logged after it.
    const auto cut = std::lower_bound(m.steps.begin(), m.steps.end(), step) - m.steps.begin();
    m.steps.resize(cut);
    m.values.resize(cut);
    ++rewinds_;
  }
  m.steps.append(step);
  m.values.append(value);
  changed.insert(name);
}

void RunSeries::addLog(const jobs::Event& e, const QString& level, const QString& text) {
  LogLine l;
  l.t = e.t;
  l.level = level;
  l.text = text;
  if (e.step) l.step = *e.step;
  log_.append(l);
}

QSet<QString> RunSeries::add(const jobs::Event& e) {
  QSet<QString> changed;
  ++events_;
  if (e.step) lastStep_ = std::max<qint64>(lastStep_.value_or(qint64(*e.step)), qint64(*e.step));
  const Json& j = e.json;
  auto str = [&](const char* key) {
    return j.contains(key) && j[key].is_string() ? QString::fromStdString(j[key].get<std::string>()) : QString();
  };
  if (e.type == "metric") {
    if (!e.step || !j.contains("metrics") || !j["metrics"].is_object()) return changed;
    for (const auto& [key, value] : j["metrics"].items()) {
      if (!value.is_number()) continue;
      addPoint(QString::fromStdString(key), double(*e.step), value.get<double>(), changed);
    }
  } else if (e.type == "log") {
    const QString level = str("level");
    addLog(e, level.isEmpty() ? QStringLiteral("info") : level, str("message"));
  } else if (e.type == "state") {
    lastState_ = str("state");
    lastReason_ = str("reason");
    addLog(e, QStringLiteral("state"), lastReason_.isEmpty() ? *lastState_ : *lastState_ + QStringLiteral(" — ") + lastReason_);
  } else if (e.type == "stage") {
    QString text = QStringLiteral("stage %1").arg(str("stage"));
    if (j.contains("total_steps") && j["total_steps"].is_number_integer())
      text += QStringLiteral(" (%1 steps)").arg(j["total_steps"].get<qint64>());
    addLog(e, QStringLiteral("stage"), text);
  } else if (e.type == "checkpoint") {
    addLog(e, QStringLiteral("checkpoint"), str("path"));
  } else if (e.type == "summary") {
    addLog(e, QStringLiteral("summary"),
           j.contains("summary") ? QString::fromStdString(j["summary"].dump()) : QString());
  }
  return changed;
}

QString RunSeries::formatLog(const LogLine& l) {
  QString out;
  if (l.step) out += QStringLiteral("[step %1] ").arg(*l.step);
  out += l.level + QStringLiteral(": ") + l.text;
  return out;
}

}  // namespace kanana::jobsplugin
