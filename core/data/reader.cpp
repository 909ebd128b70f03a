// Corpus readers (see reader.h).
#include "data/reader.h"

#include <algorithm>
#include <system_error>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/strings.h"

namespace kanana::data {
namespace fs = std::filesystem;

Result<std::vector<fs::path>> expand_inputs(const std::vector<fs::path>& inputs) {
  std::vector<fs::path> out;
  for (const auto& input : inputs) {
    std::error_code ec;
    const auto st = fs::status(input, ec);
    if (ec || !fs::exists(st)) return not_found(input.string() + ": no such file or folder");
    if (fs::is_directory(st)) {
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(input, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (!name.empty() && name[0] == '.') {
          if (it->is_directory()) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file()) found.push_back(it->path());
      }
      if (ec) return unavailable(input.string() + ": listing folder failed: " + ec.message());
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back(input);
    }
  }
  return out;
}

namespace {

// Walk a dotted path ("meta.body") through nested objects.
const nlohmann::json* find_path(const nlohmann::json& root, const std::string& path) {
  const nlohmann::json* node = &root;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return node;
}

std::string json_type_name(const nlohmann::json& j) { return j.type_name(); }

}  // namespace

Result<Document> parse_record(const RawRecord& raw, const ReaderOptions& options) {
  if (!raw.too_long.empty()) return invalid_argument(raw.too_long);
  Document doc;
  doc.id = raw.id;
  doc.index = raw.index;
  if (!raw.jsonl) {
    if (!is_valid_utf8(raw.bytes)) return invalid_argument("invalid UTF-8");
    doc.text = raw.bytes;
    return doc;
  }
  if (!is_valid_utf8(raw.bytes)) return invalid_argument("invalid UTF-8");
  nlohmann::json j = parse_json_or_discarded(raw.bytes);
  if (j.is_discarded()) return invalid_argument("invalid JSON");
  if (!j.is_object()) return invalid_argument("JSON line is a " + json_type_name(j) + ", not an object");
  const nlohmann::json* text = find_path(j, options.text_field);
  if (text == nullptr) return invalid_argument("missing field '" + options.text_field + "'");
  if (!text->is_string())
    return invalid_argument("field '" + options.text_field + "' is a " + json_type_name(*text) + ", not a string");
  doc.text = text->get<std::string>();
  if (!options.id_field.empty()) {
    if (const auto* id = find_path(j, options.id_field)) doc.source_id = id->is_string() ? id->get<std::string>() : id->dump();
  }
  if (!options.lang_field.empty()) {
    if (const auto* lang = find_path(j, options.lang_field); lang && lang->is_string()) doc.lang = lang->get<std::string>();
  }
  return doc;
}

CorpusReader::CorpusReader(std::vector<fs::path> files, ReaderOptions options)
    : files_(std::move(files)), options_(std::move(options)) {}
CorpusReader::~CorpusReader() = default;

Result<std::unique_ptr<CorpusReader>> CorpusReader::open(const std::vector<fs::path>& inputs, ReaderOptions options) {
  if (options.text_field.empty()) return invalid_argument("text field must not be empty");
  KANANA_ASSIGN_OR_RETURN(auto files, expand_inputs(inputs));
  std::unique_ptr<CorpusReader> r(new CorpusReader(std::move(files), std::move(options)));
  for (const auto& f : r->files_) {
    std::error_code ec;
    const auto size = fs::file_size(f, ec);
    r->sizes_.push_back(ec ? 0 : size);
    r->total_bytes_ += ec ? 0 : size;
  }
  return r;
}

bool CorpusReader::is_jsonl(const fs::path& path) const {
  if (options_.format != InputFormat::kAuto) return options_.format == InputFormat::kJsonl;
  const std::string name = path.filename().string();
  return name.find(".jsonl") != std::string::npos || name.find(".json") != std::string::npos ||
         name.find(".ndjson") != std::string::npos;
}

Status CorpusReader::open_file(size_t index) {
  const fs::path& path = files_[index];
  std::error_code ec;
  if (!fs::exists(path, ec))
    return not_found(path.string() + ": input file disappeared during the scan (it was listed at start)");
  KANANA_ASSIGN_OR_RETURN(auto src, open_byte_source(path, options_.cancel));
  lines_ = std::make_unique<LineReader>(std::move(src), options_.max_line_bytes);
  current_jsonl_ = is_jsonl(path);
  current_open_ = true;
  return Status::ok();
}

uint64_t CorpusReader::bytes_done() const {
  uint64_t done = finished_bytes_;
  if (current_open_ && lines_ && current_ < sizes_.size())
    done += std::min<uint64_t>(lines_->bytes_consumed(), sizes_[current_]);
  return done;
}

BadLine CorpusReader::bad_line(const RawRecord& raw, const std::string& reason) const {
  BadLine b;
  b.file = raw.id.file_index < files_.size() ? files_[raw.id.file_index].string() : std::string("?");
  b.line = raw.id.line;
  b.byte_offset = raw.id.byte_offset;
  b.reason = reason;
  return b;
}

Result<bool> CorpusReader::next(RawRecord* rec) {
  LineReader::Line line;
  while (current_ < files_.size()) {
    if (!current_open_) KANANA_RETURN_IF_ERROR(open_file(current_));
    auto with_file = [&](const Status& s) { return s.with_context("reading " + files_[current_].string()); };
    rec->jsonl = current_jsonl_;
    rec->too_long.clear();
    rec->bytes.clear();
    rec->id.file_index = static_cast<uint32_t>(current_);
    if (current_jsonl_) {
      auto got = lines_->next(&line);
      if (!got.is_ok()) return with_file(got.status());
      if (*got) {
        rec->id.line = line.number;
        rec->id.byte_offset = line.byte_offset;
        rec->index = next_index_++;
        if (line.too_long) {
          rec->too_long = "line of " + std::to_string(line.length) + " bytes is over the limit of " +
                          std::to_string(options_.max_line_bytes) + " bytes";
        } else if (trim(line.text).empty()) {
          --next_index_;
          continue;  // blank lines in JSONL are not records
        } else {
          rec->bytes = std::move(line.text);
        }
        return true;
      }
    } else {
      // Text: a whole file, or blank-line separated paragraphs.
      bool have = false;
      uint64_t size = 0;
      bool over = false;
      for (;;) {
        auto got = lines_->next(&line);
        if (!got.is_ok()) return with_file(got.status());
        if (!*got) break;
        const bool blank = !line.too_long && trim(line.text).empty();
        if (options_.text_unit == TextUnit::kParagraph && blank) {
          if (have) break;
          continue;
        }
        if (!have) {
          rec->id.line = line.number;
          rec->id.byte_offset = line.byte_offset;
          have = true;
        }
        size += line.length + 1;
        if (line.too_long || size > options_.max_document_bytes) over = true;
        if (!over) {
          if (!rec->bytes.empty() || line.number != rec->id.line) rec->bytes.push_back('\n');
          rec->bytes += line.text;
        }
      }
      if (have) {
        rec->index = next_index_++;
        if (over) {
          rec->bytes.clear();
          rec->too_long = "text unit over the limit of " + std::to_string(options_.max_document_bytes) + " bytes";
        }
        return true;
      }
    }
    // A file that shrank or grew while it was read: the run cannot say what it covered.
    std::error_code ec;
    const auto now = fs::file_size(files_[current_], ec);
    if (!ec && now != sizes_[current_])
      return data_loss(files_[current_].string() + ": input file changed during the scan (" + std::to_string(sizes_[current_]) +
                       " bytes when the run started, " + std::to_string(now) + " now)");
    finished_bytes_ += sizes_[current_];
    lines_.reset();
    current_open_ = false;
    ++current_;
  }
  return false;
}

Status CorpusReader::resume_after(const DocId& last, uint64_t last_index, RawRecord* reread) {
  if (last.file_index >= files_.size())
    return out_of_range("cannot resume at input file #" + std::to_string(last.file_index) + ": the run has only " +
                        std::to_string(files_.size()) + " input files");
  lines_.reset();
  current_open_ = false;
  current_ = last.file_index;
  finished_bytes_ = 0;
  for (size_t i = 0; i < current_; ++i) finished_bytes_ += sizes_[i];
  KANANA_RETURN_IF_ERROR(open_file(current_));
  Status s = lines_->seek(last.byte_offset, last.line);
  if (!s.is_ok()) return s.with_context("resuming " + files_[current_].string());
  next_index_ = last_index;
  KANANA_ASSIGN_OR_RETURN(bool more, next(reread));
  if (!more || reread->id != last || reread->index != last_index)
    return data_loss(files_[last.file_index].string() + ":" + std::to_string(last.line) +
                     ": the record where the earlier run stopped (byte offset " + std::to_string(last.byte_offset) +
                     ") is not there any more");
  return Status::ok();
}

Result<bool> CorpusReader::next_document(Document* doc, std::vector<BadLine>* bad) {
  RawRecord raw;
  for (;;) {
    KANANA_ASSIGN_OR_RETURN(bool more, next(&raw));
    if (!more) return false;
    auto parsed = parse_record(raw, options_);
    if (parsed.is_ok()) {
      *doc = std::move(parsed).value();
      return true;
    }
    if (bad) bad->push_back(bad_line(raw, parsed.status().message()));
  }
}

Result<Document> CorpusReader::read_at(const DocId& id) const {
  if (id.file_index >= files_.size()) return out_of_range("document file index " + std::to_string(id.file_index) + " is past the input list");
  const fs::path& path = files_[id.file_index];
  KANANA_ASSIGN_OR_RETURN(auto src, open_byte_source(path, options_.cancel));
  LineReader lines(std::move(src), options_.max_line_bytes);
  KANANA_RETURN_IF_ERROR(lines.seek(id.byte_offset, id.line));
  RawRecord raw;
  raw.id = id;
  raw.jsonl = is_jsonl(path);
  LineReader::Line line;
  bool first = true;
  for (;;) {
    KANANA_ASSIGN_OR_RETURN(bool got, lines.next(&line));
    if (!got) break;
    if (line.too_long) return invalid_argument(path.string() + ":" + std::to_string(line.number) + ": line over the limit");
    if (raw.jsonl) { raw.bytes = line.text; first = false; break; }
    if (options_.text_unit == TextUnit::kParagraph && trim(line.text).empty()) break;
    if (!first) raw.bytes.push_back('\n');
    raw.bytes += line.text;
    first = false;
  }
  if (first) return out_of_range(path.string() + ": no document at line " + std::to_string(id.line));
  auto doc = parse_record(raw, options_);
  if (!doc.is_ok()) return doc.status().with_context(path.string() + ":" + std::to_string(id.line));
  return doc;
}

}  // namespace kanana::data
