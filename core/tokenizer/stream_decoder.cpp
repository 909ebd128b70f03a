// StreamDecoder: incremental detokenization that never emits half a UTF-8 character.
//
// It keeps two offsets into the id list, as text-generation servers do: text is produced by
// decoding ids[prefix_offset_:] and subtracting the decoding of ids[prefix_offset_:read_offset_].
// Decoding from a token of context (rather than each id alone) keeps SentencePiece's
// leading-space handling and multi-token characters right; a tail ending in U+FFFD means a
// character is still incomplete, so nothing is emitted until a later id completes it.
#include "tokenizer/tokenizer.h"

namespace kanana::tok {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

bool ends_incomplete(const std::string& text) {
  return text.size() >= kReplacement.size() && text.compare(text.size() - 3, 3, kReplacement) == 0;
}

}  // namespace

StreamDecoder::StreamDecoder(std::shared_ptr<const Tokenizer> tokenizer, bool skip_special)
    : tokenizer_(std::move(tokenizer)), skip_special_(skip_special) {}

std::string StreamDecoder::push(int32_t id) {
  ids_.push_back(id);
  const std::vector<int32_t> context(ids_.begin() + prefix_offset_, ids_.begin() + read_offset_);
  const std::vector<int32_t> all(ids_.begin() + prefix_offset_, ids_.end());
  const std::string before = tokenizer_->decode(context, skip_special_);
  const std::string now = tokenizer_->decode(all, skip_special_);
  if (now.size() <= before.size() || ends_incomplete(now) || now.compare(0, before.size(), before) != 0) return {};
  std::string out = now.substr(before.size());
  prefix_offset_ = read_offset_;
  read_offset_ = ids_.size();
  // Bound the work per push: only the last emitted token is needed as context.
  if (prefix_offset_ > 0) {
    ids_.erase(ids_.begin(), ids_.begin() + static_cast<ptrdiff_t>(prefix_offset_));
    read_offset_ -= prefix_offset_;
    prefix_offset_ = 0;
  }
  emitted_bytes_ += out.size();
  return out;
}

std::string StreamDecoder::flush() {
  const std::vector<int32_t> context(ids_.begin() + prefix_offset_, ids_.begin() + read_offset_);
  const std::vector<int32_t> all(ids_.begin() + prefix_offset_, ids_.end());
  const std::string before = tokenizer_->decode(context, skip_special_);
  const std::string now = tokenizer_->decode(all, skip_special_);
  ids_.clear();
  prefix_offset_ = read_offset_ = 0;
  if (now.size() <= before.size() || now.compare(0, before.size(), before) != 0) return {};
  emitted_bytes_ += now.size() - before.size();
  return now.substr(before.size());
}

}  // namespace kanana::tok
