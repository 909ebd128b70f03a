// See samples_model.h.
#include "samples_model.h"

#include <QBrush>
#include <QColor>
#include <QFont>

#include "base/strings.h"

namespace kanana::evaluation {

namespace {

QString qs(const Json& j, const char* key) {
  if (!j.contains(key)) return {};
  const Json& v = j[key];
  if (v.is_string()) return QString::fromStdString(v.get<std::string>());
  if (v.is_null()) return {};
  return QString::fromStdString(v.dump());
}

QString oneLine(QString s, int max = 120) {
  s.replace(QLatin1Char('\n'), QStringLiteral(" ⏎ "));
  return s.size() > max ? s.left(max - 1) + QStringLiteral("…") : s;
}

bool keep(const Json& s, const QString& filter) {
  if (filter.isEmpty()) return true;
  for (const QString& part : filter.split(QLatin1Char(','))) {
    const int eq = part.indexOf(QLatin1Char('='));
    if (eq < 0) continue;
    if (qs(s, part.left(eq).toUtf8().constData()) != part.mid(eq + 1)) return false;
  }
  return true;
}

}  // namespace

SamplesModel::SamplesModel(QObject* parent) : QAbstractTableModel(parent) {}

void SamplesModel::clear() {
  beginResetModel();
  samples_.clear();
  kind_ = Kind::kEmpty;
  headers_.clear();
  choices_ = 0;
  title_.clear();
  endResetModel();
}

void SamplesModel::setSamples(std::vector<Json> samples, const QString& title, const QString& filter) {
  beginResetModel();
  samples_.clear();
  for (auto& s : samples) {
    if (keep(s, filter)) samples_.push_back(std::move(s));
  }
  title_ = title;
  choices_ = 0;
  kind_ = Kind::kEmpty;
  headers_.clear();
  if (!samples_.empty()) {
    const Json& first = samples_.front();
    if (first.contains("logprobs")) {
      kind_ = Kind::kMultipleChoice;
      for (const auto& s : samples_) {
        if (s.contains("logprobs")) choices_ = std::max(choices_, int(s["logprobs"].size()));
      }
      headers_ = {tr("line"), tr("prompt"), tr("gold"), tr("prediction"), tr("acc"), tr("acc_norm")};
      const Json& labels = first.contains("continuations") ? first["continuations"] : Json::array();
      for (int c = 0; c < choices_; ++c) {
        const QString label = c < int(labels.size()) && labels[size_t(c)].is_string()
                                  ? oneLine(QString::fromStdString(labels[size_t(c)].get<std::string>()), 12)
                                  : QString::number(c);
        headers_ << tr("log p(%1)").arg(label);
      }
    } else if (first.contains("response")) {
      kind_ = Kind::kGeneration;
      headers_ = {tr("line"), tr("prompt"), tr("gold"), tr("response"), tr("extracted")};
      for (const auto& [k, v] : first.items()) {
        if (starts_with(k, "exact_match")) headers_ << QString::fromStdString(k);
      }
    } else if (first.contains("nll")) {
      kind_ = Kind::kPerplexity;
      headers_ = {tr("document"), tr("source"), tr("lang"), tr("tokens"), tr("bytes"), tr("bits/byte")};
    }
  }
  endResetModel();
}

int SamplesModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(samples_.size()); }
int SamplesModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(headers_.size()); }

QVariant SamplesModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation == Qt::Horizontal && role == Qt::DisplayRole && section < headers_.size()) return headers_[section];
  return {};
}

QVariant SamplesModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const Json& s = samples_[size_t(index.row())];
  const int col = index.column();
  if (kind_ == Kind::kMultipleChoice) {
    const int gold = s.value("gold", -1), pred = s.value("pred", -1);
    auto label = [&](int i) -> QString {
      if (i < 0) return {};
      QString l = s.contains("continuations") && i < int(s["continuations"].size())
                      ? QString::fromStdString(s["continuations"][size_t(i)].get<std::string>())
                      : QString::number(i);
      if (s.contains("choices") && i < int(s["choices"].size()) && s["choices"][size_t(i)].is_string()) {
        const QString text = QString::fromStdString(s["choices"][size_t(i)].get<std::string>());
        if (text != l) l += QStringLiteral(" · ") + oneLine(text, 40);
      }
      return l;
    };
    if (role == Qt::DisplayRole) {
      switch (col) {
        case 0: return qs(s, "line");
        case 1: return oneLine(qs(s, "prompt"));
        case 2: return label(gold);
        case 3: return label(pred);
        case 4: return s.value("acc", 0.0) > 0.5 ? QStringLiteral("✓") : QStringLiteral("✗");
        case 5: return s.value("acc_norm", 0.0) > 0.5 ? QStringLiteral("✓") : QStringLiteral("✗");
        default: {
          const int c = col - 6;
          if (!s.contains("logprobs") || c >= int(s["logprobs"].size())) return {};
          return QString::number(s["logprobs"][size_t(c)].get<double>(), 'f', 3);
        }
      }
    }
    if (col >= 6) {
      const int c = col - 6;
      if (role == Qt::FontRole && c == pred) {
        QFont f;
        f.setBold(true);
        return f;
      }
      if (role == Qt::BackgroundRole && c == gold) return QBrush(QColor(0xd8, 0xf0, 0xd8));
      if (role == Qt::TextAlignmentRole) return int(Qt::AlignRight | Qt::AlignVCenter);
      if (role == Qt::UserRole && s.contains("logprobs") && c < int(s["logprobs"].size())) {
        return s["logprobs"][size_t(c)].get<double>();
      }
    }
    if (role == Qt::ForegroundRole && (col == 4 || col == 5)) {
      const bool ok = s.value(col == 4 ? "acc" : "acc_norm", 0.0) > 0.5;
      return QBrush(ok ? QColor(0x2e, 0x7d, 0x32) : QColor(0xc6, 0x28, 0x28));
    }
    return {};
  }
  if (kind_ == Kind::kGeneration) {
    if (role != Qt::DisplayRole) return {};
    switch (col) {
      case 0: return qs(s, "line");
      case 1: return oneLine(qs(s, "prompt"));
      case 2: return qs(s, "gold");
      case 3: return oneLine(qs(s, "response"));
      case 4: {
        QStringList parts;
        if (s.contains("extracted") && s["extracted"].is_object()) {
          for (const auto& [k, v] : s["extracted"].items()) {
            parts << QString::fromStdString(k) + QStringLiteral(": ") + QString::fromStdString(v.is_string() ? v.get<std::string>() : v.dump());
          }
        }
        return parts.join(QStringLiteral("; "));
      }
      default: {
        const std::string key = headers_.value(col).toStdString();
        return s.value(key, 0.0) > 0.5 ? QStringLiteral("✓") : QStringLiteral("✗");
      }
    }
  }
  if (kind_ == Kind::kPerplexity && role == Qt::DisplayRole) {
    switch (col) {
      case 0: return qs(s, "where");
      case 1: return qs(s, "source");
      case 2: return qs(s, "lang");
      case 3: return qs(s, "tokens");
      case 4: return qs(s, "bytes");
      case 5: return QString::number(s.value("bits_per_byte", 0.0), 'f', 4);
      default: return {};
    }
  }
  return {};
}

QString SamplesModel::detail(int row) const {
  if (row < 0 || row >= rowCount()) return {};
  const Json& s = samples_[size_t(row)];
  QString out;
  if (kind_ == Kind::kMultipleChoice) {
    out += tr("Line %1 — gold %2, predicted %3 (normalised: %4)\n\n")
               .arg(qs(s, "line"))
               .arg(s.value("gold", -1))
               .arg(s.value("pred", -1))
               .arg(s.value("pred_norm", -1));
    out += qs(s, "prompt") + QStringLiteral("\n\n");
    const size_t n = s.contains("logprobs") ? s["logprobs"].size() : 0;
    for (size_t c = 0; c < n; ++c) {
      const QString cont = s.contains("continuations") && c < s["continuations"].size()
                               ? QString::fromStdString(s["continuations"][c].get<std::string>())
                               : QString::number(c);
      const QString text = s.contains("choices") && c < s["choices"].size() && s["choices"][c].is_string()
                               ? QString::fromStdString(s["choices"][c].get<std::string>())
                               : QString();
      const bool greedy = s.contains("is_greedy") && c < s["is_greedy"].size() && s["is_greedy"][c].get<bool>();
      out += QStringLiteral("%1 %2  log p = %3  (%4 tokens%5)%6\n")
                 .arg(int(c) == s.value("gold", -1) ? QStringLiteral("★") : QStringLiteral(" "))
                 .arg(cont + (text.isEmpty() || text == cont ? QString() : QStringLiteral(" · ") + text))
                 .arg(s["logprobs"][c].get<double>(), 0, 'f', 4)
                 .arg(s.contains("tokens") && c < s["tokens"].size() ? s["tokens"][c].get<int64_t>() : 0)
                 .arg(greedy ? tr(", greedy") : QString())
                 .arg(int(c) == s.value("pred", -1) ? tr("  ← prediction") : QString());
    }
  } else if (kind_ == Kind::kGeneration) {
    out = tr("Line %1\n\n%2\n\n— response —\n%3\n\n— target —\n%4\n\ngold answer: %5")
              .arg(qs(s, "line"), qs(s, "prompt"), qs(s, "response"), qs(s, "target"), qs(s, "gold"));
  } else if (kind_ == Kind::kPerplexity) {
    out = tr("%1\nsource %2, language %3: %4 tokens, %5 bytes, nll %6 nats, %7 bits/byte")
              .arg(qs(s, "where"), qs(s, "source"), qs(s, "lang"), qs(s, "tokens"), qs(s, "bytes"))
              .arg(s.value("nll", 0.0), 0, 'f', 3)
              .arg(s.value("bits_per_byte", 0.0), 0, 'f', 4);
  }
  return out;
}

}  // namespace kanana::evaluation
