// SignalsCache: the coordinator loop (requested rows first, then the in-order pass with
// dedup), the per-chunk worker fan-out, and the column store.
#include "signals_cache.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "corpus_index.h"
#include "data/filters.h"
#include "data/lang_id.h"

namespace kanana::datainspector {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

int SignalsCache::columnCount() { return static_cast<int>(data::signal_fields().size()) + 1; }
int SignalsCache::langScoreColumn() { return static_cast<int>(data::signal_fields().size()); }
QString SignalsCache::columnName(int column) {
  if (column == langScoreColumn()) return QStringLiteral("lang_score");
  if (column < 0 || column >= columnCount()) return {};
  return QString::fromLatin1(data::signal_fields()[static_cast<size_t>(column)].name);
}
int SignalsCache::columnOf(const std::string& signal) {
  const auto& fields = data::signal_fields();
  for (size_t i = 0; i < fields.size(); ++i)
    if (signal == fields[i].name) return static_cast<int>(i);
  return signal == "lang_score" ? langScoreColumn() : -1;
}

SignalsCache::SignalsCache(CorpusIndex* index, SignalsCacheOptions options, QObject* parent)
    : QObject(parent), index_(index), options_(std::move(options)), columns_(static_cast<size_t>(columnCount())) {
  if (options_.threads <= 0) options_.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

SignalsCache::~SignalsCache() { cancel(); }

void SignalsCache::start() {
  if (coordinator_.joinable()) return;
  cancel_.reset();
  coordinator_ = std::thread([this] { run(); });
}

void SignalsCache::cancel() {
  cancel_.cancel();
  wake_.notify_all();
  if (coordinator_.joinable()) coordinator_.join();
}

void SignalsCache::requestRows(qint64 first, qint64 last) {
  {
    std::lock_guard lock(requestMu_);
    for (qint64 r = std::max<qint64>(0, first); r <= last && requested_.size() < 4096; ++r) requested_.push_back(r);
  }
  wake_.notify_all();
}

qint64 SignalsCache::rowCount() const {
  std::shared_lock lock(mu_);
  return static_cast<qint64>(info_.size());
}

RowInfo SignalsCache::row(qint64 row) const {
  std::shared_lock lock(mu_);
  if (row < 0 || row >= static_cast<qint64>(info_.size())) return {};
  return info_[static_cast<size_t>(row)];
}

double SignalsCache::value(int column, qint64 row) const {
  std::shared_lock lock(mu_);
  if (column < 0 || column >= columnCount() || row < 0 || row >= static_cast<qint64>(info_.size())) return kNaN;
  return columns_[static_cast<size_t>(column)][static_cast<size_t>(row)];
}

QString SignalsCache::badReason(qint64 row) const {
  std::shared_lock lock(mu_);
  for (const auto& [r, reason] : badReasons_)
    if (r == row) return QString::fromStdString(reason);
  return {};
}

QStringList SignalsCache::languages() const {
  std::shared_lock lock(mu_);
  QStringList out;
  for (const auto& l : langs_) out << QString::fromStdString(l);
  return out;
}

void SignalsCache::withColumns(const std::function<void(const std::vector<RowInfo>&, const std::vector<std::vector<double>>&,
                                                        const std::vector<std::string>&)>& f) const {
  std::shared_lock lock(mu_);
  f(info_, columns_, langs_);
}

std::vector<SignalsCache::Cluster> SignalsCache::duplicateClusters() const {
  std::map<qint64, std::vector<qint64>> byFirst;
  {
    std::shared_lock lock(mu_);
    for (size_t r = 0; r < info_.size(); ++r)
      if (info_[r].dedupDone && info_[r].cluster >= 0) byFirst[info_[r].cluster].push_back(static_cast<qint64>(r));
  }
  std::vector<Cluster> out;
  for (auto& [first, members] : byFirst)
    if (members.size() > 1) out.push_back(Cluster{first, std::move(members)});
  std::stable_sort(out.begin(), out.end(), [](const Cluster& a, const Cluster& b) { return a.members.size() > b.members.size(); });
  return out;
}

int16_t SignalsCache::langIndexLocked(const std::string& lang) {
  if (lang.empty()) return -1;
  for (size_t i = 0; i < langs_.size(); ++i)
    if (langs_[i] == lang) return static_cast<int16_t>(i);
  if (langs_.size() >= 32000) return -1;
  langs_.push_back(lang);
  return static_cast<int16_t>(langs_.size() - 1);
}

void SignalsCache::computeRows(const std::vector<qint64>& rows, bool fingerprints, std::vector<Computed>* out) {
  out->assign(rows.size(), Computed{});
  std::vector<char> have(rows.size(), 0);
  {
    std::shared_lock lock(mu_);
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto r = static_cast<size_t>(rows[i]);
      have[i] = r < info_.size() && info_[r].state != RowState::kPending;
    }
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < rows.size() && !cancel_.is_cancelled(); i = next++) {
      Computed& c = (*out)[i];
      auto doc = index_->document(rows[i]);
      if (!doc.is_ok()) {
        c.state = RowState::kBad;
        c.badReason = doc.status().message();
        continue;
      }
      if (fingerprints) c.fp = data::fingerprint(doc->text, options_.dedup);
      if (have[i]) continue;  // signals already stored (a requested row); only the fingerprint was needed
      c.state = RowState::kReady;
      c.signals = data::compute_signals(doc->text, lid_.get());
      c.lang = data::effective_language(c.signals, doc->lang);
      c.langScore = c.signals.lang.empty() ? (c.lang.empty() ? 0.0 : 1.0) : c.signals.lang_score;
      c.pii = static_cast<int32_t>(data::find_pii(doc->text, options_.pii).size());
    }
  };
  const size_t n = std::min<size_t>(static_cast<size_t>(options_.threads), rows.size());
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < n; ++t) helpers.emplace_back(work);
  work();
  for (auto& h : helpers) h.join();
}

void SignalsCache::store(const std::vector<qint64>& rows, std::vector<Computed>& computed) {
  std::unique_lock lock(mu_);
  qint64 maxRow = -1;
  for (qint64 r : rows) maxRow = std::max(maxRow, r);
  if (maxRow >= static_cast<qint64>(info_.size())) {
    const size_t n = static_cast<size_t>(maxRow + 1);
    info_.resize(n);
    for (auto& col : columns_) col.resize(n, kNaN);
  }
  const auto& fields = data::signal_fields();
  for (size_t i = 0; i < rows.size(); ++i) {
    Computed& c = computed[i];
    RowInfo& info = info_[static_cast<size_t>(rows[i])];
    if (c.state == RowState::kPending || info.state != RowState::kPending) continue;
    info.state = c.state;
    if (c.state == RowState::kBad) {
      ++bad_;
      badReasons_.emplace_back(rows[i], std::move(c.badReason));
      continue;
    }
    ++ready_;
    const auto r = static_cast<size_t>(rows[i]);
    for (size_t f = 0; f < fields.size(); ++f) columns_[f][r] = c.signals.*(fields[f].member);
    columns_[fields.size()][r] = c.langScore;
    info.lang = langIndexLocked(c.lang);
    info.piiCount = c.pii;
  }
}

void SignalsCache::run() {
  // Loading lid.176 takes a moment: do it here, not on the thread that opened the corpus.
  if (!options_.lid_model.empty() && !lid_) {
    auto lid = data::LanguageIdentifier::load(options_.lid_model);
    if (lid.is_ok()) lid_ = std::move(lid).value();
  }
  data::DedupIndex dedup(options_.dedup);
  std::vector<qint64> dedupRow;    // dedup document number → row
  std::vector<int64_t> clusterOf;  // dedup document number → cluster row, as known so far
  qint64 next = 0;
  std::vector<Computed> computed;
  while (!cancel_.is_cancelled()) {
    std::vector<qint64> req;
    {
      std::lock_guard lock(requestMu_);
      req.swap(requested_);
    }
    const qint64 indexed = index_->rowCount();
    {
      std::shared_lock lock(mu_);
      std::erase_if(req, [&](qint64 r) {
        return r >= indexed || (r < static_cast<qint64>(info_.size()) && info_[static_cast<size_t>(r)].state != RowState::kPending);
      });
    }
    std::sort(req.begin(), req.end());
    req.erase(std::unique(req.begin(), req.end()), req.end());
    if (!req.empty()) {
      computeRows(req, false, &computed);
      if (cancel_.is_cancelled()) return;
      store(req, computed);
      Q_EMIT rowsReady(req.front(), req.back());
      continue;
    }
    if (next < indexed) {
      std::vector<qint64> rows;
      for (qint64 r = next; r < indexed && rows.size() < options_.chunk_rows; ++r) rows.push_back(r);
      computeRows(rows, true, &computed);
      if (cancel_.is_cancelled()) return;
      store(rows, computed);
      {
        std::unique_lock lock(mu_);
        for (size_t i = 0; i < rows.size(); ++i) {
          RowInfo& info = info_[static_cast<size_t>(rows[i])];
          info.dedupDone = true;
          if (info.state != RowState::kReady) continue;
          const data::DedupMatch m = dedup.add(computed[i].fp);
          dedupRow.push_back(rows[i]);
          const int64_t cluster = m.kind == data::DupKind::kNone ? rows[i] : clusterOf[m.duplicate_of];
          clusterOf.push_back(cluster);
          info.cluster = cluster;
          info.dupKind = m.kind;
        }
      }
      next = rows.back() + 1;
      Q_EMIT rowsReady(rows.front(), rows.back());
      Q_EMIT progress(next, indexed);
      continue;
    }
    if (index_->isComplete() && next >= index_->rowCount() && !complete_) {
      // Later documents can join clusters found earlier: take the final union-find roots.
      {
        std::unique_lock lock(mu_);
        for (size_t k = 0; k < dedupRow.size(); ++k)
          info_[static_cast<size_t>(dedupRow[k])].cluster = dedupRow[dedup.cluster_of(k)];
      }
      complete_ = true;
      if (next > 0) Q_EMIT rowsReady(0, next - 1);
      Q_EMIT progress(next, next);
      Q_EMIT completed();
      continue;
    }
    std::unique_lock lock(requestMu_);
    wake_.wait_for(lock, std::chrono::milliseconds(complete_ ? 200 : 20),
                   [&] { return !requested_.empty() || cancel_.is_cancelled(); });
  }
}

}  // namespace kanana::datainspector
