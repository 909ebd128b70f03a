// CorpusIndex: opens a JSONL corpus without importing it. A background thread finds the
// line starts (memchr over an mmap for plain files; a sequential CorpusReader pass for
// .gz/.zst, whose lines are then kept in memory) and publishes them chunk by chunk, so the
// first rows can be shown while the rest of a multi-gigabyte file is still being indexed.
// Document text is fetched lazily by offset.
//
// Threading contract: open()/close() and the destructor belong to the owner's thread (they
// cancel and join the scanner). rowCount(), isComplete(), rawRecord() and document() may be
// called from any thread at any time (a shared lock guards the row table). progress(),
// completed() and failed() are emitted from the scanner thread: connect with the default
// (queued) connection from GUI objects; a DirectConnection runs on the scanner thread.
#pragma once

#include <QObject>
#include <QString>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/progress.h"
#include "base/status.h"
#include "data/reader.h"

namespace kanana {
class MappedFile;
}

namespace kanana::datainspector {

struct CorpusIndexOptions {
  size_t first_chunk_bytes = 256u << 10;  // small, so the first rows show at once
  size_t chunk_bytes = 16u << 20;          // later chunks: fewer lock/notify rounds
  data::ReaderOptions reader;              // text/id/lang fields, max line size
};

class CorpusIndex : public QObject {
  Q_OBJECT
 public:
  explicit CorpusIndex(CorpusIndexOptions options = {}, QObject* parent = nullptr);
  ~CorpusIndex() override;

  // Starts indexing `path` in the background and returns at once. False (with *error
  // naming the file) when it cannot be opened at all.
  bool open(const QString& path, QString* error);
  void close();  // cancel, join, forget every row

  QString path() const { return path_; }
  bool compressed() const { return compressed_; }
  qint64 rowCount() const;                      // rows indexed so far
  bool isComplete() const { return complete_.load(); }
  qint64 bytesTotal() const { return bytesTotal_.load(); }
  qint64 bytesScanned() const { return bytesScanned_.load(); }
  const data::ReaderOptions& readerOptions() const { return options_.reader; }

  // The line of `row` as a RawRecord for data::parse_record (false when out of range).
  bool rawRecord(qint64 row, data::RawRecord* out) const;
  // The parsed document (errors: the bad line's reason, naming the line).
  Result<data::Document> document(qint64 row) const;

 Q_SIGNALS:
  void progress(qint64 rows, qint64 bytesScanned, qint64 bytesTotal);
  void completed(qint64 rows, qint64 elapsedMs);
  void failed(const QString& error);

 private:
  struct Row {
    uint64_t offset = 0;   // byte offset of the line (decompressed for .gz/.zst)
    uint32_t length = 0;   // without the newline
    uint32_t line = 0;     // 1-based line number
  };
  void scanMapped();
  void scanCompressed();
  void publish(std::vector<Row>* rows, std::vector<std::string>* texts, uint64_t scanned);

  CorpusIndexOptions options_;
  QString path_;
  bool compressed_ = false;
  std::shared_ptr<MappedFile> map_;
  mutable std::shared_mutex mu_;
  std::vector<Row> rows_;
  std::vector<std::string> texts_;  // compressed input only
  std::atomic<bool> complete_{false};
  std::atomic<qint64> bytesTotal_{0}, bytesScanned_{0};
  CancelToken cancel_;
  std::thread scanner_;
};

}  // namespace kanana::datainspector
