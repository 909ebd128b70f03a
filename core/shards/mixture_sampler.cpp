// MixtureSampler: weighted per-sequence source choice with counter-based randomness, one
// shuffled window stream per source, stage switches at token budgets, and a JSON cursor.
#include <cmath>
#include <map>

#include "shards/mixture.h"

namespace kanana::shards {

namespace {

uint64_t name_hash(const std::string& name) { return fnv1a64(name.data(), name.size()); }

// Uniform in [0, 1) from (seed, stage, sample): the same on every rank and after a resume.
double draw(uint64_t seed, size_t stage, uint64_t sample) {
  const uint64_t h = mix64(mix64(seed ^ mix64(0x5851f42d4c957f2dull + stage)) + sample);
  return double(h >> 11) * 0x1.0p-53;
}

}  // namespace

Result<std::unique_ptr<MixtureSampler>> MixtureSampler::open(std::vector<StageSpec> stages,
                                                             const MixtureOptions& options) {
  if (options.seq_len < 1) return invalid_argument("mixture: seq_len must be >= 1");
  if (options.batch_size < 1) return invalid_argument("mixture: batch_size must be >= 1");
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size)
    return invalid_argument("mixture: rank " + std::to_string(options.rank) + " is outside world_size " +
                            std::to_string(options.world_size));
  if (stages.empty()) return invalid_argument("mixture: no stages");
  std::unique_ptr<MixtureSampler> m(new MixtureSampler());
  m->options_ = options;
  std::map<std::string, size_t> by_name;
  std::string fingerprint_owner;
  for (const auto& stage : stages) {
    const std::string where = "mixture stage '" + stage.name + "'";
    if (stage.token_budget == 0) return invalid_argument(where + ": token_budget must be > 0");
    if (stage.sources.empty()) return invalid_argument(where + ": has no sources");
    std::vector<size_t> indices;
    std::vector<double> cumulative;
    double total = 0;
    for (const auto& src : stage.sources) {
      if (!std::isfinite(src.weight) || !(src.weight > 0))
        return invalid_argument(where + ": source '" + src.name + "' weight must be > 0, got " + std::to_string(src.weight));
      auto it = by_name.find(src.name);
      if (it != by_name.end()) {
        if (m->sources_[it->second].path != src.path)
          return invalid_argument(where + ": source '" + src.name + "' points to " + src.path.string() +
                                  " but an earlier stage uses " + m->sources_[it->second].path.string() +
                                  " under that name");
      } else {
        auto data = ShardSet::open(src.path, Split::kTrain, options.open);
        if (!data.is_ok()) return data.status().with_context(where + ", source '" + src.name + "'");
        const Manifest& manifest = (*data)->manifest();
        if (m->fingerprint_.empty()) {
          m->fingerprint_ = manifest.tokenizer_fingerprint;
          fingerprint_owner = "'" + src.name + "' (" + src.path.string() + ")";
        } else if (manifest.tokenizer_fingerprint != m->fingerprint_) {
          return failed_precondition("mixture sources were packed with different tokenizers: " + fingerprint_owner +
                                     " has fingerprint " + m->fingerprint_ + ", '" + src.name + "' (" +
                                     src.path.string() + ") has " + manifest.tokenizer_fingerprint);
        }
        const uint64_t tokens = (*data)->num_tokens();
        const uint64_t n = tokens > 0 ? (tokens - 1) / uint64_t(options.seq_len) : 0;
        if (n == 0)
          return failed_precondition(where + ": source '" + src.name + "' (" + src.path.string() + ") has " +
                                     std::to_string(tokens) + " tokens, fewer than one window of seq_len + 1");
        Source s;
        s.name = src.name;
        s.path = src.path;
        s.data = std::move(data).value();
        s.order = WindowOrder(n, mix64(options.seed ^ name_hash(src.name)), true);
        it = by_name.emplace(src.name, m->sources_.size()).first;
        m->sources_.push_back(std::move(s));
        m->source_names_.push_back(src.name);
      }
      indices.push_back(it->second);
      total += src.weight;
      cumulative.push_back(total);
    }
    for (double& c : cumulative) c /= total;
    cumulative.back() = 1.0;
    m->stage_source_index_.push_back(std::move(indices));
    m->stage_cumulative_.push_back(std::move(cumulative));
  }
  m->source_tokens_.assign(m->sources_.size(), 0);
  m->stages_ = std::move(stages);
  return m;
}

uint64_t MixtureSampler::stage_steps(size_t i) const {
  const uint64_t per_step = uint64_t(options_.seq_len) * uint64_t(options_.batch_size) * uint64_t(options_.world_size);
  return (stages_[i].token_budget + per_step - 1) / per_step;
}

uint64_t MixtureSampler::total_steps() const {
  uint64_t n = 0;
  for (size_t i = 0; i < stages_.size(); ++i) n += stage_steps(i);
  return n;
}

uint64_t MixtureSampler::global_step() const {
  uint64_t n = step_in_stage_;
  for (size_t i = 0; i < stage_ && i < stages_.size(); ++i) n += stage_steps(i);
  return n;
}

uint64_t MixtureSampler::stage_tokens_consumed() const {
  return step_in_stage_ * uint64_t(options_.seq_len) * uint64_t(options_.batch_size) * uint64_t(options_.world_size);
}

template <typename T>
Result<MixtureBatch> MixtureSampler::next_batch_impl(T* out) {
  if (finished())
    return out_of_range("mixture: all " + std::to_string(stages_.size()) + " stages are done (" +
                        std::to_string(total_steps()) + " steps)");
  const uint64_t B = uint64_t(options_.batch_size);
  const uint64_t G = B * uint64_t(options_.world_size);
  const uint64_t row = uint64_t(options_.seq_len) + 1;
  const uint64_t first_row = uint64_t(options_.rank) * B;
  MixtureBatch batch;
  batch.stage = stage_;
  batch.stage_started = step_in_stage_ == 0;
  batch.source_of_row.resize(B);
  scratch_.resize(row);
  const auto& indices = stage_source_index_[stage_];
  const auto& cumulative = stage_cumulative_[stage_];
  // Every rank walks the whole global batch so all source positions advance identically.
  for (uint64_t g = 0; g < G; ++g) {
    const double u = draw(options_.seed, stage_, sample_in_stage_ + g);
    size_t k = 0;
    while (k + 1 < cumulative.size() && u >= cumulative[k]) ++k;
    Source& src = sources_[indices[k]];
    const uint64_t position = src.position++;
    source_tokens_[indices[k]] += uint64_t(options_.seq_len);
    if (g < first_row || g >= first_row + B) continue;
    const uint64_t window = src.order.at(position);
    Status s = src.data->copy_tokens(window * uint64_t(options_.seq_len), row, scratch_.data());
    if (!s.is_ok()) return s.with_context("mixture source '" + src.name + "'");
    T* dst = out + (g - first_row) * row;
    for (uint64_t i = 0; i < row; ++i) dst[i] = static_cast<T>(scratch_[i]);
    batch.source_of_row[g - first_row] = static_cast<int32_t>(indices[k]);
  }
  sample_in_stage_ += G;
  if (++step_in_stage_ >= stage_steps(stage_)) {
    ++stage_;
    step_in_stage_ = 0;
    sample_in_stage_ = 0;
  }
  return batch;
}

Result<MixtureBatch> MixtureSampler::next_batch(int32_t* out) { return next_batch_impl(out); }
Result<MixtureBatch> MixtureSampler::next_batch(int64_t* out) { return next_batch_impl(out); }

Json MixtureSampler::cursor() const {
  Json sources = Json::array();
  for (size_t i = 0; i < sources_.size(); ++i) {
    sources.push_back({{"name", sources_[i].name}, {"path", sources_[i].path.string()},
                       {"num_windows", sources_[i].order.size()}, {"position", sources_[i].position},
                       {"tokens", source_tokens_[i]}});
  }
  Json stages = Json::array();
  for (const auto& s : stages_) stages.push_back({{"name", s.name}, {"token_budget", s.token_budget}});
  return Json{{"kind", "kanana.mixture_sampler"}, {"version", 1},
              {"seed", options_.seed}, {"seq_len", options_.seq_len},
              {"global_batch", uint64_t(options_.batch_size) * uint64_t(options_.world_size)},
              {"stage", stage_}, {"step_in_stage", step_in_stage_}, {"sample_in_stage", sample_in_stage_},
              {"stages", stages}, {"sources", sources}};
}

Status MixtureSampler::restore(const Json& cursor) {
  const std::string origin = "mixture cursor";
  if (!cursor.is_object()) return invalid_argument(origin + ": must be a JSON object");
  JsonReader r(cursor, origin);
  KANANA_ASSIGN_OR_RETURN(std::string kind, r.get_string("kind"));
  if (kind != "kanana.mixture_sampler") return r.field_error("kind", "is '" + kind + "', not a mixture cursor");
  auto get_u64 = [&](const JsonReader& rd, const Json& obj, const char* key) -> Result<uint64_t> {
    if (!rd.has(key) || !obj[key].is_number_integer() || obj[key].get<int64_t>() < 0)
      return rd.field_error(key, "must be a non-negative integer");
    return obj[key].get<uint64_t>();
  };
  auto expect = [&](const char* key, uint64_t want, const std::string& why) -> Status {
    KANANA_ASSIGN_OR_RETURN(uint64_t got, get_u64(r, cursor, key));
    if (got != want)
      return r.field_error(key, "is " + std::to_string(got) + " but this run has " + std::to_string(want) + why);
    return Status::ok();
  };
  KANANA_RETURN_IF_ERROR(expect("seed", options_.seed, ""));
  KANANA_RETURN_IF_ERROR(expect("seq_len", uint64_t(options_.seq_len), ""));
  KANANA_RETURN_IF_ERROR(expect("global_batch", uint64_t(options_.batch_size) * uint64_t(options_.world_size),
                                " (batch_size x world_size must stay the same to resume)"));
  if (!cursor.contains("stages") || !cursor["stages"].is_array() || cursor["stages"].size() != stages_.size())
    return r.field_error("stages", "does not list the " + std::to_string(stages_.size()) + " stages of this recipe");
  for (size_t i = 0; i < stages_.size(); ++i) {
    const Json& s = cursor["stages"][i];
    if (!s.is_object() || s.value("name", std::string()) != stages_[i].name ||
        s.value("token_budget", uint64_t(0)) != stages_[i].token_budget)
      return r.field_error("stages[" + std::to_string(i) + "]", "differs from the recipe's stage '" + stages_[i].name +
                                                                    "' (name or token_budget changed)");
  }
  KANANA_ASSIGN_OR_RETURN(uint64_t stage, get_u64(r, cursor, "stage"));
  KANANA_ASSIGN_OR_RETURN(uint64_t step, get_u64(r, cursor, "step_in_stage"));
  KANANA_ASSIGN_OR_RETURN(uint64_t sample, get_u64(r, cursor, "sample_in_stage"));
  if (stage > stages_.size() || (stage < stages_.size() && step >= stage_steps(stage)))
    return r.field_error("stage", "position (stage " + std::to_string(stage) + ", step " + std::to_string(step) +
                                      ") is outside this recipe");
  if (!cursor.contains("sources") || !cursor["sources"].is_array())
    return r.field_error("sources", "must be an array");
  std::vector<uint64_t> positions(sources_.size()), tokens(sources_.size());
  std::vector<bool> seen(sources_.size(), false);
  const Json& list = cursor["sources"];
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = "sources[" + std::to_string(i) + "]";
    if (!list[i].is_object()) return r.field_error(path, "must be an object");
    JsonReader s(list[i], origin, path);
    KANANA_ASSIGN_OR_RETURN(std::string name, s.get_string("name"));
    size_t k = 0;
    while (k < sources_.size() && sources_[k].name != name) ++k;
    if (k == sources_.size()) return s.field_error("name", "'" + name + "' is not a source of this recipe");
    KANANA_ASSIGN_OR_RETURN(uint64_t windows, get_u64(s, list[i], "num_windows"));
    if (windows != sources_[k].order.size())
      return s.field_error("num_windows", "is " + std::to_string(windows) + " but source '" + name + "' now has " +
                                              std::to_string(sources_[k].order.size()) + " windows (its pack changed)");
    KANANA_ASSIGN_OR_RETURN(positions[k], get_u64(s, list[i], "position"));
    KANANA_ASSIGN_OR_RETURN(tokens[k], get_u64(s, list[i], "tokens"));
    seen[k] = true;
  }
  for (size_t k = 0; k < sources_.size(); ++k) {
    if (!seen[k]) return r.field_error("sources", "has no entry for source '" + sources_[k].name + "'");
  }
  for (size_t k = 0; k < sources_.size(); ++k) {
    sources_[k].position = positions[k];
    source_tokens_[k] = tokens[k];
  }
  stage_ = stage;
  step_in_stage_ = step;
  sample_in_stage_ = sample;
  return Status::ok();
}

}  // namespace kanana::shards
