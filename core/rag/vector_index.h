// Nearest-neighbour search over L2-normalised vectors by inner product (= cosine): an exact
// scan for small sets and an HNSW graph (hnswlib, Debian's libhnswlib-dev) for large ones.
// Labels are caller ids (chunk ids). Scores are inner products, higher is closer.
//
// Thread safety: search() may run concurrently with other search() calls; add() may not.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace kanana::rag {

struct VectorHit {
  int64_t label = 0;
  float score = 0;  // inner product
};

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  // Adds n = labels.size() vectors, row-major n * dim().
  virtual Status add(const std::vector<int64_t>& labels, const float* vectors) = 0;
  // The k best (fewer if the index is smaller), best first; ties by smaller label.
  virtual std::vector<VectorHit> search(const float* query, int64_t k) const = 0;
  virtual int64_t size() const = 0;
  virtual int64_t dim() const = 0;
  virtual std::string kind() const = 0;  // "exact" | "hnsw"
};

// Brute force: every vector scored, then a partial sort. Exact by definition.
class ExactIndex final : public VectorIndex {
 public:
  explicit ExactIndex(int64_t dim);
  Status add(const std::vector<int64_t>& labels, const float* vectors) override;
  std::vector<VectorHit> search(const float* query, int64_t k) const override;
  int64_t size() const override { return int64_t(labels_.size()); }
  int64_t dim() const override { return dim_; }
  std::string kind() const override { return "exact"; }

 private:
  int64_t dim_;
  std::vector<int64_t> labels_;
  std::vector<float> data_;
};

struct HnswOptions {
  int64_t m = 16;                 // graph degree (hnswlib M)
  int64_t ef_construction = 200;  // candidate list while building
  int64_t ef_search = 64;         // candidate list while searching (raised to k when smaller)
  uint64_t seed = 100;            // level generator seed: the same inputs give the same graph
  int threads = 1;                // add() inserts with this many threads (>1: graph depends on timing)
};

class HnswIndex final : public VectorIndex {
 public:
  // Capacity grows as needed.
  static Result<std::unique_ptr<HnswIndex>> create(int64_t dim, const HnswOptions& options = {});
  // A graph written by save(); error names the file if it is not one or has another dim.
  static Result<std::unique_ptr<HnswIndex>> load(const std::filesystem::path& file, int64_t dim,
                                                 const HnswOptions& options = {});
  ~HnswIndex() override;

  Status add(const std::vector<int64_t>& labels, const float* vectors) override;
  std::vector<VectorHit> search(const float* query, int64_t k) const override;
  int64_t size() const override;
  int64_t dim() const override { return dim_; }
  std::string kind() const override { return "hnsw"; }
  // Not while searches run on other threads.
  void set_ef_search(int64_t ef);
  Status save(const std::filesystem::path& file) const;  // atomic (temp + rename)

 private:
  HnswIndex(int64_t dim, const HnswOptions& options);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t dim_;
  HnswOptions options_;
};

}  // namespace kanana::rag
