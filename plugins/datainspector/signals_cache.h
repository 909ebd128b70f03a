// SignalsCache: per-document quality signals, language, PII count and duplicate cluster for
// every row of a CorpusIndex, kept as compact columns (one double per signal per row) so
// histograms and the live keep-rate run over arrays instead of re-running the pipeline.
// Rows the view asks for (requestRows) are computed first; a background pass walks every
// row in order as the index grows, computing what is missing and feeding the dedup index
// (which must see documents in order), and finalises clusters when the index is complete.
//
// Threading contract: one coordinator thread owns all writes; it computes each chunk with
// `threads` workers. Readers (any thread) take the shared lock through the accessors or
// withColumns(). requestRows() and cancel() may be called from any thread. rowsReady(),
// progress() and completed() are emitted from the coordinator thread (queued for GUI
// receivers). The destructor cancels and joins; the CorpusIndex must outlive this object.
#pragma once

#include <QObject>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/progress.h"
#include "data/dedup.h"
#include "data/pii.h"
#include "data/signals.h"

namespace kanana::data {
class LanguageIdentifier;
}

namespace kanana::datainspector {

class CorpusIndex;

struct SignalsCacheOptions {
  int threads = 0;                    // workers per chunk; 0: one per core
  size_t chunk_rows = 256;
  std::filesystem::path lid_model;    // empty: no language ID (scripts / the lang field decide)
  data::DedupOptions dedup;
  data::PiiOptions pii;
};

enum class RowState : uint8_t { kPending = 0, kReady, kBad };

struct RowInfo {
  RowState state = RowState::kPending;
  data::DupKind dupKind = data::DupKind::kNone;
  bool dedupDone = false;             // the in-order pass has seen this row
  int16_t lang = -1;                  // index into languages(); -1: none
  int32_t piiCount = 0;
  int64_t cluster = -1;               // row of the cluster's first document; -1: not known yet
};

class SignalsCache : public QObject {
  Q_OBJECT
 public:
  SignalsCache(CorpusIndex* index, SignalsCacheOptions options = {}, QObject* parent = nullptr);
  ~SignalsCache() override;

  // Columns: every data::signal_fields() entry in order, then the score the language rule
  // sees (fastText probability; without a model 1 when a language is known, else 0).
  static int columnCount();
  static int langScoreColumn();
  static QString columnName(int column);
  static int columnOf(const std::string& signal);  // -1 when unknown

  void start();   // start the coordinator (idempotent)
  void cancel();  // stop and join
  void requestRows(qint64 first, qint64 last);

  qint64 rowCount() const;                  // rows with a RowInfo (ready, bad or pending)
  qint64 readyCount() const { return ready_.load(); }
  qint64 badCount() const { return bad_.load(); }
  bool isComplete() const { return complete_.load(); }
  RowInfo row(qint64 row) const;
  double value(int column, qint64 row) const;  // NaN when not ready
  QString badReason(qint64 row) const;
  QStringList languages() const;

  // Run f with the shared lock held: f(infos, columns, languages). Keep f short.
  void withColumns(const std::function<void(const std::vector<RowInfo>&, const std::vector<std::vector<double>>&,
                                            const std::vector<std::string>&)>& f) const;

  // Duplicate clusters with more than one member (largest first); final once complete.
  struct Cluster { qint64 first = 0; std::vector<qint64> members; };
  std::vector<Cluster> duplicateClusters() const;

 Q_SIGNALS:
  void rowsReady(qint64 first, qint64 last);
  void progress(qint64 done, qint64 total);
  void completed();

 private:
  struct Computed {
    RowState state = RowState::kPending;
    data::DocSignals signals;
    std::string lang;
    double langScore = 0;
    int32_t pii = 0;
    std::string badReason;
    data::DocFingerprint fp;
  };
  void run();
  void computeRows(const std::vector<qint64>& rows, bool fingerprints, std::vector<Computed>* out);
  void store(const std::vector<qint64>& rows, std::vector<Computed>& computed);
  int16_t langIndexLocked(const std::string& lang);

  CorpusIndex* index_;
  SignalsCacheOptions options_;
  std::unique_ptr<data::LanguageIdentifier> lid_;
  mutable std::shared_mutex mu_;
  std::vector<RowInfo> info_;
  std::vector<std::vector<double>> columns_;
  std::vector<std::string> langs_;
  std::vector<std::pair<qint64, std::string>> badReasons_;
  std::atomic<qint64> ready_{0}, bad_{0};
  std::atomic<bool> complete_{false};

  std::mutex requestMu_;
  std::condition_variable wake_;
  std::vector<qint64> requested_;
  CancelToken cancel_;
  std::thread coordinator_;
};

}  // namespace kanana::datainspector
