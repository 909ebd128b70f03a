// GPT-style training windows over a ShardSet, in a seeded per-epoch order that needs no
// memory (Feistel permutation), with data-parallel row splitting and a JSON cursor.
#include "shards/sampler.h"

namespace kanana::shards {

uint64_t mix64(uint64_t x) {
  x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27; x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

WindowOrder::WindowOrder(uint64_t n, uint64_t seed, bool shuffle) : n_(n), seed_(seed), shuffle_(shuffle) {
  half_bits_ = 1;
  while (half_bits_ < 32 && (uint64_t(1) << (2 * half_bits_)) < n) ++half_bits_;
}

// A balanced Feistel network on 2*half_bits bits is a bijection of [0, 2^(2*half_bits));
// cycle walking (re-applying it while the value is >= n) restricts it to a bijection of [0, n).
// The domain is < 4n, so the expected number of walks is below 4.
uint64_t WindowOrder::permute(uint64_t x, uint64_t epoch) const {
  const uint64_t mask = (uint64_t(1) << half_bits_) - 1;
  const uint64_t key = mix64(seed_ ^ mix64(epoch + 0x632be59bd9b4e019ull));
  do {
    uint64_t left = x >> half_bits_, right = x & mask;
    for (uint64_t round = 0; round < 4; ++round) {
      const uint64_t f = mix64(right ^ mix64(key + round)) & mask;
      const uint64_t next = left ^ f;
      left = right;
      right = next;
    }
    x = (left << half_bits_) | right;
  } while (x >= n_);
  return x;
}

uint64_t WindowOrder::at(uint64_t position) const {
  const uint64_t slot = position % n_;
  if (!shuffle_) return slot;
  return permute(slot, position / n_);
}

SequenceSampler::SequenceSampler(std::shared_ptr<const ShardSet> data, const SamplerOptions& options, uint64_t n)
    : data_(std::move(data)), options_(options), order_(n, options.seed, options.shuffle) {}

Result<std::unique_ptr<SequenceSampler>> SequenceSampler::create(std::shared_ptr<const ShardSet> data,
                                                                 const SamplerOptions& options) {
  if (!data) return invalid_argument("sampler: no data");
  if (options.seq_len < 1) return invalid_argument("sampler: seq_len must be >= 1, got " + std::to_string(options.seq_len));
  if (options.batch_size < 1)
    return invalid_argument("sampler: batch_size must be >= 1, got " + std::to_string(options.batch_size));
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size)
    return invalid_argument("sampler: rank " + std::to_string(options.rank) + " is outside world_size " +
                            std::to_string(options.world_size));
  const uint64_t tokens = data->num_tokens();
  const uint64_t n = tokens > 0 ? (tokens - 1) / uint64_t(options.seq_len) : 0;
  if (n == 0)
    return failed_precondition(data->dir().string() + ": the " + split_name(data->split()) + " split has " +
                               std::to_string(tokens) + " tokens, fewer than one window of seq_len + 1 = " +
                               std::to_string(options.seq_len + 1));
  return std::unique_ptr<SequenceSampler>(new SequenceSampler(std::move(data), options, n));
}

Status SequenceSampler::window(uint64_t index, int32_t* out) const {
  if (index >= order_.size())
    return out_of_range("window " + std::to_string(index) + " of " + std::to_string(order_.size()));
  const uint64_t len = uint64_t(options_.seq_len);
  return data_->copy_tokens(index * len, len + 1, out);
}

Status SequenceSampler::next_batch(int32_t* out) {
  const uint64_t row = uint64_t(options_.seq_len) + 1;
  const uint64_t first = position_ + uint64_t(options_.rank) * uint64_t(options_.batch_size);
  for (int64_t i = 0; i < options_.batch_size; ++i) {
    KANANA_RETURN_IF_ERROR(window(order_.at(first + uint64_t(i)), out + uint64_t(i) * row));
  }
  position_ += global_batch_size();
  return Status::ok();
}

Status SequenceSampler::next_batch(int64_t* out) {
  const size_t n = size_t(options_.batch_size) * size_t(options_.seq_len + 1);
  scratch_.resize(n);
  KANANA_RETURN_IF_ERROR(next_batch(scratch_.data()));
  for (size_t i = 0; i < n; ++i) out[i] = scratch_[i];
  return Status::ok();
}

Status SequenceSampler::next_batch(std::vector<int32_t>* out) {
  out->resize(size_t(options_.batch_size) * size_t(options_.seq_len + 1));
  return next_batch(out->data());
}

Json SequenceSampler::cursor() const {
  return Json{{"kind", "kanana.sequence_sampler"}, {"version", 1},
              {"source", data_->manifest().source_name}, {"split", split_name(data_->split())},
              {"seed", options_.seed}, {"seq_len", options_.seq_len}, {"shuffle", options_.shuffle},
              {"num_windows", order_.size()}, {"position", position_}};
}

Status SequenceSampler::restore(const Json& cursor) {
  const std::string origin = "sampler cursor";
  if (!cursor.is_object()) return invalid_argument(origin + ": must be a JSON object");
  JsonReader r(cursor, origin);
  KANANA_ASSIGN_OR_RETURN(std::string kind, r.get_string("kind"));
  if (kind != "kanana.sequence_sampler") return r.field_error("kind", "is '" + kind + "', not a sequence sampler cursor");
  auto expect = [&](const char* key, uint64_t want) -> Status {
    if (!r.has(key) || !cursor[key].is_number_integer()) return r.field_error(key, "is missing or not an integer");
    const uint64_t got = cursor[key].get<uint64_t>();
    if (got != want)
      return r.field_error(key, "is " + std::to_string(got) + " but this sampler has " + std::to_string(want) +
                                    ": the cursor belongs to another dataset or configuration");
    return Status::ok();
  };
  KANANA_RETURN_IF_ERROR(expect("seed", options_.seed));
  KANANA_RETURN_IF_ERROR(expect("seq_len", uint64_t(options_.seq_len)));
  KANANA_RETURN_IF_ERROR(expect("num_windows", order_.size()));
  KANANA_ASSIGN_OR_RETURN(bool shuffle, r.get_bool("shuffle"));
  if (shuffle != options_.shuffle) return r.field_error("shuffle", "differs from this sampler's setting");
  if (!r.has("position") || !cursor["position"].is_number_integer() || cursor["position"].get<int64_t>() < 0)
    return r.field_error("position", "must be a non-negative integer");
  position_ = cursor["position"].get<uint64_t>();
  return Status::ok();
}

}  // namespace kanana::shards
