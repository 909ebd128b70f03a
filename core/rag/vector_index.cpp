// Exact and HNSW inner-product search (vector_index.h). Both score with hnswlib's SIMD inner
// product, so a latency comparison measures the search strategy, not the kernel.
#include "rag/vector_index.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <queue>
#include <thread>
#include <unistd.h>

namespace kanana::rag {
namespace {

// Best first: higher score, then smaller label.
bool better(const VectorHit& a, const VectorHit& b) {
  return a.score != b.score ? a.score > b.score : a.label < b.label;
}

}  // namespace

// ---- exact ------------------------------------------------------------------------------

ExactIndex::ExactIndex(int64_t dim) : dim_(dim) {}

Status ExactIndex::add(const std::vector<int64_t>& labels, const float* vectors) {
  labels_.insert(labels_.end(), labels.begin(), labels.end());
  data_.insert(data_.end(), vectors, vectors + labels.size() * size_t(dim_));
  return Status::ok();
}

std::vector<VectorHit> ExactIndex::search(const float* query, int64_t k) const {
  hnswlib::InnerProductSpace space{static_cast<size_t>(dim_)};
  auto dist = space.get_dist_func();
  void* param = space.get_dist_func_param();
  const size_t n = labels_.size();
  const size_t keep = size_t(std::max<int64_t>(0, std::min<int64_t>(k, int64_t(n))));
  if (keep == 0) return {};
  // Min-heap of the best `keep` so far: its top is the worst kept hit.
  auto worse = [](const VectorHit& a, const VectorHit& b) { return better(a, b); };
  std::priority_queue<VectorHit, std::vector<VectorHit>, decltype(worse)> heap(worse);
  for (size_t i = 0; i < n; ++i) {
    const VectorHit h{labels_[i], 1.0f - dist(query, data_.data() + i * size_t(dim_), param)};
    if (heap.size() < keep) {
      heap.push(h);
    } else if (better(h, heap.top())) {
      heap.pop();
      heap.push(h);
    }
  }
  std::vector<VectorHit> out;
  out.reserve(heap.size());
  for (; !heap.empty(); heap.pop()) out.push_back(heap.top());
  std::sort(out.begin(), out.end(), better);
  return out;
}

// ---- HNSW -------------------------------------------------------------------------------

struct HnswIndex::Impl {
  explicit Impl(int64_t dim) : space(size_t(dim)) {}
  hnswlib::InnerProductSpace space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
};

HnswIndex::HnswIndex(int64_t dim, const HnswOptions& options)
    : impl_(std::make_unique<Impl>(dim)), dim_(dim), options_(options) {}
HnswIndex::~HnswIndex() = default;

Result<std::unique_ptr<HnswIndex>> HnswIndex::create(int64_t dim, const HnswOptions& options) {
  if (dim <= 0) return invalid_argument("vector dimension must be positive");
  if (options.m < 2 || options.ef_construction < 1 || options.ef_search < 1)
    return invalid_argument("HNSW needs m >= 2, ef_construction >= 1 and ef_search >= 1");
  std::unique_ptr<HnswIndex> index(new HnswIndex(dim, options));
  try {
    index->impl_->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        &index->impl_->space, 1024, size_t(options.m), size_t(options.ef_construction), size_t(options.seed));
    index->impl_->graph->setEf(size_t(options.ef_search));  // searchKnn uses max(ef, k)
  } catch (const std::exception& e) {
    return internal_error(std::string("creating the HNSW graph: ") + e.what());
  }
  return index;
}

Result<std::unique_ptr<HnswIndex>> HnswIndex::load(const std::filesystem::path& file, int64_t dim,
                                                   const HnswOptions& options) {
  if (dim <= 0) return invalid_argument("vector dimension must be positive");
  std::unique_ptr<HnswIndex> index(new HnswIndex(dim, options));
  try {
    auto g = std::make_unique<hnswlib::HierarchicalNSW<float>>(&index->impl_->space, file.string());
    // An element is links + vector + label; a file written for another dim has another size.
    if (g->size_data_per_element_ != g->size_links_level0_ + size_t(dim) * sizeof(float) + sizeof(hnswlib::labeltype))
      return data_loss(file.string() + ": not an HNSW graph of " + std::to_string(dim) + "-dimensional vectors");
    g->setEf(size_t(std::max<int64_t>(1, options.ef_search)));
    index->impl_->graph = std::move(g);
  } catch (const std::exception& e) {
    return data_loss(file.string() + ": cannot read the HNSW graph (" + e.what() + ")");
  }
  return index;
}

Status HnswIndex::add(const std::vector<int64_t>& labels, const float* vectors) {
  auto& g = *impl_->graph;
  try {
    const size_t need = g.cur_element_count + labels.size();
    if (need > g.max_elements_) g.resizeIndex(std::max(need, g.max_elements_ * 2));
    const int threads = std::max(1, std::min<int>(options_.threads, int(labels.size())));
    if (threads == 1) {
      for (size_t i = 0; i < labels.size(); ++i) g.addPoint(vectors + i * size_t(dim_), hnswlib::labeltype(labels[i]));
      return Status::ok();
    }
    std::atomic<size_t> next{0};
    std::mutex error_mutex;
    std::string error;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        try {
          for (size_t i = next++; i < labels.size(); i = next++)
            g.addPoint(vectors + i * size_t(dim_), hnswlib::labeltype(labels[i]));
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lock(error_mutex);
          error = e.what();
        }
      });
    }
    for (auto& th : pool) th.join();
    if (!error.empty()) return internal_error("adding to the HNSW graph: " + error);
  } catch (const std::exception& e) {
    return internal_error(std::string("adding to the HNSW graph: ") + e.what());
  }
  return Status::ok();
}

std::vector<VectorHit> HnswIndex::search(const float* query, int64_t k) const {
  auto& g = *impl_->graph;
  if (k <= 0 || g.cur_element_count == 0) return {};
  auto result = g.searchKnn(query, size_t(k));
  std::vector<VectorHit> out;
  out.reserve(result.size());
  for (; !result.empty(); result.pop()) out.push_back({int64_t(result.top().second), 1.0f - result.top().first});
  std::sort(out.begin(), out.end(), better);
  return out;
}

void HnswIndex::set_ef_search(int64_t ef) {
  options_.ef_search = std::max<int64_t>(1, ef);
  impl_->graph->setEf(size_t(options_.ef_search));
}

int64_t HnswIndex::size() const { return int64_t(impl_->graph->cur_element_count); }

Status HnswIndex::save(const std::filesystem::path& file) const {
  const std::filesystem::path temp = file.string() + ".tmp-" + std::to_string(::getpid());
  try {
    impl_->graph->saveIndex(temp.string());
  } catch (const std::exception& e) {
    return internal_error(file.string() + ": writing the HNSW graph: " + e.what());
  }
  std::error_code ec;
  if (std::filesystem::file_size(temp, ec) == 0 || ec) {
    std::filesystem::remove(temp, ec);
    return internal_error(file.string() + ": writing the HNSW graph failed");
  }
  std::filesystem::rename(temp, file, ec);
  if (ec) return internal_error(file.string() + ": " + ec.message());
  return Status::ok();
}

}  // namespace kanana::rag
