// CorpusIndex: background line-offset scan over a mapped (or streamed) JSONL file.
#include "corpus_index.h"

#include <QElapsedTimer>
#include <cstring>
#include <filesystem>

#include "base/files.h"

namespace kanana::datainspector {

namespace {
bool blank(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\v' && p[i] != '\f') return false;
  return true;
}
bool isCompressedName(const QString& path) {
  return path.endsWith(QLatin1String(".gz")) || path.endsWith(QLatin1String(".zst"));
}
}  // namespace

CorpusIndex::CorpusIndex(CorpusIndexOptions options, QObject* parent)
    : QObject(parent), options_(std::move(options)) {}

CorpusIndex::~CorpusIndex() { close(); }

void CorpusIndex::close() {
  cancel_.cancel();
  if (scanner_.joinable()) scanner_.join();
  std::unique_lock lock(mu_);
  rows_.clear();
  rows_.shrink_to_fit();
  texts_.clear();
  map_.reset();
  complete_ = false;
  bytesTotal_ = 0;
  bytesScanned_ = 0;
  path_.clear();
}

bool CorpusIndex::open(const QString& path, QString* error) {
  close();
  cancel_.reset();
  path_ = path;
  compressed_ = isCompressedName(path);
  std::error_code ec;
  const std::filesystem::path p = path.toStdString();
  const auto size = std::filesystem::file_size(p, ec);
  if (ec) {
    if (error) *error = tr("Cannot open %1: %2").arg(path, QString::fromStdString(ec.message()));
    return false;
  }
  bytesTotal_ = static_cast<qint64>(size);
  if (!compressed_) {
    auto mapped = MappedFile::open(p);
    if (!mapped.is_ok()) {
      if (error) *error = QString::fromStdString(mapped.status().message());
      return false;
    }
    map_ = std::move(mapped).value();
    scanner_ = std::thread([this] { scanMapped(); });
  } else {
    scanner_ = std::thread([this] { scanCompressed(); });
  }
  return true;
}

qint64 CorpusIndex::rowCount() const {
  std::shared_lock lock(mu_);
  return static_cast<qint64>(rows_.size());
}

void CorpusIndex::publish(std::vector<Row>* rows, std::vector<std::string>* texts, uint64_t scanned) {
  qint64 count = 0;
  {
    std::unique_lock lock(mu_);
    rows_.insert(rows_.end(), rows->begin(), rows->end());
    if (texts) {
      for (auto& t : *texts) texts_.push_back(std::move(t));
      texts->clear();
    }
    count = static_cast<qint64>(rows_.size());
  }
  rows->clear();
  bytesScanned_ = static_cast<qint64>(scanned);
  Q_EMIT progress(count, static_cast<qint64>(scanned), bytesTotal_.load());
}

void CorpusIndex::scanMapped() {
  QElapsedTimer timer;
  timer.start();
  const uint8_t* data = map_->data();
  const size_t size = map_->size();
  size_t pos = 0;
  uint32_t line = 0;
  size_t chunk = options_.first_chunk_bytes;
  std::vector<Row> batch;
  while (pos < size && !cancel_.is_cancelled()) {
    const size_t chunkEnd = std::min(size, pos + chunk);
    while (pos < chunkEnd) {
      const void* nl = std::memchr(data + pos, '\n', size - pos);
      const size_t end = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - data) : size;
      ++line;
      size_t len = end - pos;
      if (len && data[pos + len - 1] == '\r') --len;
      if (!blank(data + pos, len)) {
        // Lines over 4 GiB cannot be rows; parse_record reports them as too long.
        batch.push_back(Row{pos, static_cast<uint32_t>(std::min<size_t>(len, UINT32_MAX)), line});
      }
      pos = end + 1;
    }
    publish(&batch, nullptr, std::min(pos, size));
    chunk = options_.chunk_bytes;
  }
  if (cancel_.is_cancelled()) return;
  complete_ = true;
  Q_EMIT completed(rowCount(), timer.elapsed());
}

void CorpusIndex::scanCompressed() {
  QElapsedTimer timer;
  timer.start();
  data::ReaderOptions ro = options_.reader;
  ro.format = data::InputFormat::kJsonl;
  auto reader = data::CorpusReader::open({std::filesystem::path(path_.toStdString())}, ro);
  if (!reader.is_ok()) {
    Q_EMIT failed(QString::fromStdString(reader.status().message()));
    return;
  }
  std::vector<Row> batch;
  std::vector<std::string> texts;
  size_t bytes = 0;
  size_t limit = options_.first_chunk_bytes;
  data::RawRecord raw;
  while (!cancel_.is_cancelled()) {
    auto more = (*reader)->next(&raw);
    if (!more.is_ok()) {
      Q_EMIT failed(QString::fromStdString(more.status().message()));
      return;
    }
    if (!*more) break;
    batch.push_back(Row{raw.id.byte_offset, static_cast<uint32_t>(raw.bytes.size()), static_cast<uint32_t>(raw.id.line)});
    bytes += raw.bytes.size();
    texts.push_back(raw.too_long.empty() ? std::move(raw.bytes) : std::string());
    if (bytes >= limit) {
      publish(&batch, &texts, (*reader)->bytes_done());
      bytes = 0;
      limit = options_.chunk_bytes;
    }
  }
  if (cancel_.is_cancelled()) return;
  publish(&batch, &texts, static_cast<uint64_t>(bytesTotal_.load()));
  complete_ = true;
  Q_EMIT completed(rowCount(), timer.elapsed());
}

bool CorpusIndex::rawRecord(qint64 row, data::RawRecord* out) const {
  std::shared_lock lock(mu_);
  if (row < 0 || row >= static_cast<qint64>(rows_.size())) return false;
  const Row& r = rows_[static_cast<size_t>(row)];
  out->id.file_index = 0;
  out->id.line = r.line;
  out->id.byte_offset = r.offset;
  out->index = static_cast<uint64_t>(row);
  out->jsonl = true;
  out->too_long.clear();
  if (r.length > options_.reader.max_line_bytes) {
    out->bytes.clear();
    out->too_long = "line " + std::to_string(r.line) + " is longer than " +
                    std::to_string(options_.reader.max_line_bytes) + " bytes";
  } else if (compressed_) {
    out->bytes = texts_[static_cast<size_t>(row)];
  } else {
    out->bytes.assign(reinterpret_cast<const char*>(map_->data()) + r.offset, r.length);
  }
  return true;
}

Result<data::Document> CorpusIndex::document(qint64 row) const {
  data::RawRecord raw;
  if (!rawRecord(row, &raw)) return invalid_argument("row " + std::to_string(row) + " is not indexed");
  auto doc = data::parse_record(raw, options_.reader);
  if (!doc.is_ok())
    return invalid_argument(path_.toStdString() + ":" + std::to_string(raw.id.line) + ": " + doc.status().message());
  return doc;
}

}  // namespace kanana::datainspector
