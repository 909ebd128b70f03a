// fastText supervised inference (see fasttext_model.h). The arithmetic follows fastText 0.9.2
// step by step (dictionary.cc getLine/computeSubwords/addWordNgrams, model.cc computeHidden,
// loss.cc softmax/hs/ova prediction, productquantizer.cc) so that results match the library.
#include "data/fasttext_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/files.h"

namespace kanana::data {
namespace {

constexpr int32_t kMagic = 793712314;
constexpr int32_t kVersion = 12;
constexpr int kLossHs = 1, kLossNs = 2, kLossSoftmax = 3, kLossOva = 4;
constexpr int kModelSupervised = 3;
constexpr int8_t kTypeWord = 0, kTypeLabel = 1;
constexpr std::string_view kEos = "</s>";
constexpr std::string_view kLabelPrefix = "__label__";

uint32_t fnv_step(uint32_t h, char c) { return (h ^ static_cast<uint32_t>(static_cast<int8_t>(c))) * 16777619u; }
uint32_t fnv(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) h = fnv_step(h, c);
  return h;
}

// fastText's prediction-time log: log(x + 1e-5), in float.
float std_log(float x) { return static_cast<float>(std::log(x + 1e-5)); }

class Reader {
 public:
  Reader(std::string_view data, std::string file) : data_(data), file_(std::move(file)) {}
  template <typename T>
  Status read(T* out, const char* field) {
    return bytes(out, sizeof(T), field);
  }
  Status bytes(void* out, size_t n, const char* field) {
    if (data_.size() - pos_ < n) return error(field, "the file ends early (truncated?)");
    std::memcpy(out, data_.data() + pos_, n);
    pos_ += n;
    return Status::ok();
  }
  Status cstring(std::string* out, const char* field) {
    const size_t end = data_.find('\0', pos_);
    if (end == std::string_view::npos) return error(field, "unterminated string (truncated?)");
    out->assign(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return Status::ok();
  }
  Status error(const std::string& field, const std::string& what) const {
    return data_loss(file_ + ": " + field + " at byte " + std::to_string(pos_) + ": " + what);
  }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  std::string_view data_;
  std::string file_;
  size_t pos_ = 0;
};

// productquantizer.cc: 256 centroids per sub-quantizer; the last one may be narrower.
struct ProductQuantizer {
  static constexpr int32_t kKsub = 256;
  int32_t dim = 0, nsubq = 0, dsub = 0, lastdsub = 0;
  std::vector<float> centroids;

  Status load(Reader& in, const char* what) {
    KANANA_RETURN_IF_ERROR(in.read(&dim, what));
    KANANA_RETURN_IF_ERROR(in.read(&nsubq, what));
    KANANA_RETURN_IF_ERROR(in.read(&dsub, what));
    KANANA_RETURN_IF_ERROR(in.read(&lastdsub, what));
    if (dim <= 0 || nsubq <= 0 || dsub <= 0 || lastdsub <= 0 || int64_t(nsubq - 1) * dsub + lastdsub != dim)
      return in.error(what, "inconsistent shape (dim " + std::to_string(dim) + ", " + std::to_string(nsubq) +
                                " sub-quantizers of " + std::to_string(dsub) + ", last " + std::to_string(lastdsub) + ")");
    if (uint64_t(dim) * kKsub * sizeof(float) > in.remaining()) return in.error(what, "centroids past the end of the file");
    centroids.resize(size_t(dim) * kKsub);
    return in.bytes(centroids.data(), centroids.size() * sizeof(float), what);
  }
  const float* centroid(int32_t m, uint8_t i) const {
    if (m == nsubq - 1) return &centroids[size_t(m) * kKsub * dsub + size_t(i) * lastdsub];
    return &centroids[(size_t(m) * kKsub + i) * dsub];
  }
  void addcode(float* x, const uint8_t* code, float alpha) const {
    int32_t d = dsub;
    for (int32_t m = 0; m < nsubq; m++) {
      const float* c = centroid(m, code[m]);
      if (m == nsubq - 1) d = lastdsub;
      for (int32_t n = 0; n < d; n++) x[m * dsub + n] += alpha * c[n];
    }
  }
  float mulcode(const float* x, const uint8_t* code, float alpha) const {
    float res = 0;
    int32_t d = dsub;
    for (int32_t m = 0; m < nsubq; m++) {
      const float* c = centroid(m, code[m]);
      if (m == nsubq - 1) d = lastdsub;
      for (int32_t n = 0; n < d; n++) res += x[m * dsub + n] * c[n];
    }
    return res * alpha;
  }
};

// densematrix.cc / quantmatrix.cc: rows added to the hidden vector, dot products with it.
struct Matrix {
  bool quant = false, qnorm = false;
  int64_t m = 0, n = 0;
  std::vector<float> dense;
  std::vector<uint8_t> codes, norm_codes;
  ProductQuantizer pq, npq;

  Status load(Reader& in, bool quantized, const char* what) {
    quant = quantized;
    if (quant) KANANA_RETURN_IF_ERROR(in.read(&qnorm, what));
    KANANA_RETURN_IF_ERROR(in.read(&m, what));
    KANANA_RETURN_IF_ERROR(in.read(&n, what));
    if (m < 0 || n <= 0 || n > 65536) return in.error(what, "bad shape " + std::to_string(m) + " x " + std::to_string(n));
    if (!quant) {
      if (uint64_t(m) * uint64_t(n) * sizeof(float) > in.remaining()) return in.error(what, "data past the end of the file");
      dense.resize(size_t(m) * size_t(n));
      return in.bytes(dense.data(), dense.size() * sizeof(float), what);
    }
    int32_t codesize = 0;
    KANANA_RETURN_IF_ERROR(in.read(&codesize, what));
    if (codesize < 0 || size_t(codesize) > in.remaining()) return in.error(what, "codes past the end of the file");
    codes.resize(size_t(codesize));
    KANANA_RETURN_IF_ERROR(in.bytes(codes.data(), codes.size(), what));
    KANANA_RETURN_IF_ERROR(pq.load(in, what));
    if (pq.dim != n || uint64_t(codesize) != uint64_t(m) * uint64_t(pq.nsubq))
      return in.error(what, "product quantizer does not match the matrix (" + std::to_string(codesize) + " codes for " +
                                std::to_string(m) + " rows of " + std::to_string(pq.nsubq) + ")");
    if (qnorm) {
      if (uint64_t(m) > in.remaining()) return in.error(what, "norm codes past the end of the file");
      norm_codes.resize(size_t(m));
      KANANA_RETURN_IF_ERROR(in.bytes(norm_codes.data(), norm_codes.size(), what));
      KANANA_RETURN_IF_ERROR(npq.load(in, what));
      if (npq.dim != 1) return in.error(what, "norm quantizer is not one-dimensional");
    }
    return Status::ok();
  }
  float norm(int64_t i) const { return qnorm ? npq.centroid(0, norm_codes[size_t(i)])[0] : 1.0f; }
  void add_row(float* x, int64_t i) const {
    if (quant) return pq.addcode(x, codes.data() + size_t(i) * pq.nsubq, norm(i));
    const float* row = dense.data() + size_t(i) * size_t(n);
    for (int64_t j = 0; j < n; j++) x[j] += row[j];
  }
  float dot_row(const float* x, int64_t i) const {
    if (quant) return pq.mulcode(x, codes.data() + size_t(i) * pq.nsubq, norm(i));
    const float* row = dense.data() + size_t(i) * size_t(n);
    float d = 0;
    for (int64_t j = 0; j < n; j++) d += row[j] * x[j];
    return d;
  }
};

// A pruned dictionary maps the surviving hash buckets to compact rows. Most n-grams of a
// document hit no surviving bucket: a bitmap answers those from cache, and a flat
// open-addressing table the rest.
class PruneMap {
 public:
  void build(const std::vector<std::pair<int32_t, int32_t>>& pairs, int32_t bucket) {
    bits_.assign((size_t(bucket) + 63) / 64, 0);
    size_t cap = 16;
    while (cap < pairs.size() * 2) cap <<= 1;
    keys_.assign(cap, -1);
    values_.assign(cap, 0);
    mask_ = cap - 1;
    for (const auto& [k, v] : pairs) {
      if (k < 0 || k >= bucket) continue;
      bits_[size_t(k) >> 6] |= uint64_t{1} << (k & 63);
      size_t s = slot(k);
      while (keys_[s] != -1 && keys_[s] != k) s = (s + 1) & mask_;
      keys_[s] = k;
      values_[s] = v;  // a repeated key keeps the last value, as fastText's map assignment does
    }
  }
  bool find(int32_t k, int32_t* v) const {
    if (!(bits_[size_t(k) >> 6] >> (k & 63) & 1)) return false;
    for (size_t s = slot(k);; s = (s + 1) & mask_) {
      if (keys_[s] == k) return *v = values_[s], true;
      if (keys_[s] == -1) return false;
    }
  }

 private:
  size_t slot(int32_t k) const { return (uint64_t(uint32_t(k)) * 0x9E3779B97F4A7C15ull >> 20) & mask_; }
  std::vector<uint64_t> bits_;
  std::vector<int32_t> keys_, values_;
  size_t mask_ = 0;
};

// Dictionary words by their fastText hash (computed anyway for word n-grams): a flat table
// instead of a node-based map keyed by strings.
class WordTable {
 public:
  void build(const std::vector<std::string>& words) {
    size_t cap = 16;
    while (cap < words.size() * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (int32_t i = 0; i < int32_t(words.size()); i++) {
      const uint32_t h = fnv(words[size_t(i)]);
      size_t s = h & mask_;
      bool seen = false;
      for (; slots_[s].id >= 0; s = (s + 1) & mask_) seen = seen || (slots_[s].hash == h && words[size_t(slots_[s].id)] == words[size_t(i)]);
      if (!seen) slots_[s] = {h, i};  // the first of duplicates, as fastText's find
    }
  }
  int32_t find(std::string_view w, uint32_t h, const std::vector<std::string>& words) const {
    for (size_t s = h & mask_; slots_[s].id >= 0; s = (s + 1) & mask_)
      if (slots_[s].hash == h && words[size_t(slots_[s].id)] == w) return slots_[s].id;
    return -1;
  }

 private:
  struct Slot {
    uint32_t hash = 0;
    int32_t id = -1;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

struct TreeNode {
  int32_t left = -1, right = -1;
  int64_t count = 0;
};

}  // namespace

struct FastTextModel::Impl {
  // Args (args.cc) that inference uses.
  int32_t dim = 0, word_ngrams = 1, loss = 0, model = 0, bucket = 0, minn = 0, maxn = 0;
  // Dictionary.
  int32_t nwords = 0, nlabels = 0;
  int64_t pruneidx_size = -1;
  std::vector<std::string> words;
  std::vector<int8_t> types;
  std::vector<int64_t> counts;
  std::vector<std::vector<int32_t>> subwords;  // per entry: its id, then its character n-grams
  WordTable ids;
  PruneMap prune;
  Matrix input, output;
  std::vector<TreeNode> tree;  // hierarchical softmax
  bool pruned() const { return pruneidx_size >= 0; }

  void push_hash(std::vector<int32_t>& out, int32_t id) const {
    if (pruneidx_size == 0 || id < 0) return;
    if (pruneidx_size > 0 && !prune.find(id, &id)) return;
    out.push_back(nwords + id);
  }

  // dictionary.cc computeSubwords on "<" + word + ">" (w includes the brackets).
  void char_ngrams(std::string_view w, std::vector<int32_t>& out) const {
    const size_t size = w.size();
    for (size_t i = 0; i < size; i++) {
      if ((w[i] & 0xC0) == 0x80) continue;
      uint32_t h = 2166136261u;
      size_t j = i;
      for (int32_t n = 1; j < size && n <= maxn; n++) {
        h = fnv_step(h, w[j++]);
        while (j < size && (w[j] & 0xC0) == 0x80) h = fnv_step(h, w[j++]);
        if (n >= minn && !(n == 1 && (i == 0 || j == size))) push_hash(out, static_cast<int32_t>(h % uint32_t(bucket)));
      }
    }
  }

  void build_tree() {  // loss.cc HierarchicalSoftmaxLoss::buildTree
    const int32_t osz = nlabels;
    tree.assign(size_t(2 * osz - 1), TreeNode{});
    for (auto& t : tree) t.count = int64_t(1e15);
    for (int32_t i = 0; i < osz; i++) tree[size_t(i)].count = counts[size_t(nwords + i)];
    int32_t leaf = osz - 1, node = osz;
    for (int32_t i = osz; i < 2 * osz - 1; i++) {
      int32_t mini[2];
      for (int32_t& m : mini) m = (leaf >= 0 && tree[size_t(leaf)].count < tree[size_t(node)].count) ? leaf-- : node++;
      tree[size_t(i)].left = mini[0];
      tree[size_t(i)].right = mini[1];
      tree[size_t(i)].count = tree[size_t(mini[0])].count + tree[size_t(mini[1])].count;
    }
  }

  using Heap = std::vector<std::pair<float, int32_t>>;
  static bool compare(const std::pair<float, int32_t>& l, const std::pair<float, int32_t>& r) { return l.first > r.first; }
  static void heap_push(Heap& heap, size_t k, float score, int32_t label) {
    heap.emplace_back(score, label);
    std::push_heap(heap.begin(), heap.end(), compare);
    if (heap.size() > k) {
      std::pop_heap(heap.begin(), heap.end(), compare);
      heap.pop_back();
    }
  }

  void dfs(size_t k, float threshold, int32_t node, float score, Heap& heap, const float* hidden) const {
    if (score < std_log(threshold)) return;
    if (heap.size() == k && score < heap.front().first) return;
    const TreeNode& t = tree[size_t(node)];
    if (t.left == -1 && t.right == -1) return heap_push(heap, k, score, node);
    float f = output.dot_row(hidden, node - nlabels);
    f = static_cast<float>(1. / (1 + std::exp(-f)));
    dfs(k, threshold, t.left, score + std_log(static_cast<float>(1.0 - f)), heap, hidden);
    dfs(k, threshold, t.right, score + std_log(f), heap, hidden);
  }

  static float table_sigmoid(float x) {  // loss.cc Loss::sigmoid (a 512-entry table over [-8, 8])
    constexpr int kSize = 512;
    constexpr float kMax = 8;
    static const std::vector<float> table = [] {
      std::vector<float> t(kSize + 1);
      for (int i = 0; i < kSize + 1; i++) {
        const float v = float(i * 2 * kMax) / kSize - kMax;
        t[size_t(i)] = static_cast<float>(1.0 / (1.0 + std::exp(-v)));
      }
      return t;
    }();
    if (x < -kMax) return 0.0f;
    if (x > kMax) return 1.0f;
    return table[size_t(int64_t((x + kMax) * kSize / kMax / 2))];
  }
};

FastTextModel::FastTextModel() : impl_(std::make_unique<Impl>()) {}
FastTextModel::~FastTextModel() = default;

Result<std::unique_ptr<FastTextModel>> FastTextModel::load(const std::filesystem::path& file) {
  KANANA_ASSIGN_OR_RETURN(std::string bytes, read_file(file));
  Reader in(bytes, file.string());
  std::unique_ptr<FastTextModel> model(new FastTextModel());
  Impl& m = *model->impl_;

  int32_t magic = 0, version = 0;
  KANANA_RETURN_IF_ERROR(in.read(&magic, "magic"));
  if (magic != kMagic) return in.error("magic", "not a fastText model");
  KANANA_RETURN_IF_ERROR(in.read(&version, "version"));
  if (version != kVersion)
    return in.error("version", "format version " + std::to_string(version) + " is not supported (fastText 0.9 writes " +
                                   std::to_string(kVersion) + ")");
  int32_t a[12];  // dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate
  double t = 0;
  KANANA_RETURN_IF_ERROR(in.bytes(a, sizeof a, "args"));
  KANANA_RETURN_IF_ERROR(in.read(&t, "args.t"));
  m.dim = a[0];
  m.word_ngrams = a[5];
  m.loss = a[6];
  m.model = a[7];
  m.bucket = a[8];
  m.minn = a[9];
  m.maxn = a[10];
  if (m.model != kModelSupervised) return in.error("args.model", "not a supervised (classifier) model");
  if (m.loss != kLossHs && m.loss != kLossSoftmax && m.loss != kLossOva && m.loss != kLossNs)
    return in.error("args.loss", "unknown loss " + std::to_string(m.loss));
  if (m.loss == kLossNs) return in.error("args.loss", "negative-sampling classifiers are not supported");
  if (m.dim <= 0 || m.bucket < 0 || (m.maxn > 0 && m.minn <= 0)) return in.error("args", "bad dim, bucket or minn/maxn");
  if (m.bucket == 0 && (m.maxn > 0 || m.word_ngrams > 1)) return in.error("args", "n-grams without hash buckets");

  int32_t size = 0;
  int64_t ntokens = 0;
  KANANA_RETURN_IF_ERROR(in.read(&size, "dictionary.size"));
  KANANA_RETURN_IF_ERROR(in.read(&m.nwords, "dictionary.nwords"));
  KANANA_RETURN_IF_ERROR(in.read(&m.nlabels, "dictionary.nlabels"));
  KANANA_RETURN_IF_ERROR(in.read(&ntokens, "dictionary.ntokens"));
  KANANA_RETURN_IF_ERROR(in.read(&m.pruneidx_size, "dictionary.pruneidx_size"));
  // In 64 bits: two counts near 2^30 overflowed int (found by fuzz_fasttext). Every entry takes
  // at least 10 bytes (NUL, count, type), so a size beyond the file is refused before resizing.
  if (size < 0 || m.nwords < 0 || m.nlabels <= 0 || int64_t(m.nwords) + int64_t(m.nlabels) != int64_t(size) ||
      uint64_t(size) > bytes.size() / 10)
    return in.error("dictionary", "inconsistent sizes (" + std::to_string(size) + " entries, " + std::to_string(m.nwords) +
                                      " words, " + std::to_string(m.nlabels) + " labels)");
  m.words.resize(size_t(size));
  m.types.resize(size_t(size));
  m.counts.resize(size_t(size));
  for (int32_t i = 0; i < size; i++) {
    KANANA_RETURN_IF_ERROR(in.cstring(&m.words[size_t(i)], "dictionary entry"));
    KANANA_RETURN_IF_ERROR(in.read(&m.counts[size_t(i)], "dictionary entry count"));
    KANANA_RETURN_IF_ERROR(in.read(&m.types[size_t(i)], "dictionary entry type"));
    if (m.types[size_t(i)] != (i < m.nwords ? kTypeWord : kTypeLabel))
      return in.error("dictionary entry " + std::to_string(i), "words must come before labels");
  }
  std::vector<std::pair<int32_t, int32_t>> pairs;
  if (m.pruneidx_size > 0) {
    if (uint64_t(m.pruneidx_size) * 8 > in.remaining()) return in.error("dictionary.pruneidx", "past the end of the file");
    pairs.resize(size_t(m.pruneidx_size));
    for (auto& [k, v] : pairs) {
      KANANA_RETURN_IF_ERROR(in.read(&k, "dictionary.pruneidx"));
      KANANA_RETURN_IF_ERROR(in.read(&v, "dictionary.pruneidx"));
    }
  }

  bool quant_input = false, qout = false;
  KANANA_RETURN_IF_ERROR(in.read(&quant_input, "quant_input"));
  KANANA_RETURN_IF_ERROR(m.input.load(in, quant_input, "input matrix"));
  if (!quant_input && m.pruned()) return in.error("input matrix", "a pruned dictionary needs a quantized input matrix");
  KANANA_RETURN_IF_ERROR(in.read(&qout, "qout"));
  KANANA_RETURN_IF_ERROR(m.output.load(in, quant_input && qout, "output matrix"));
  if (m.input.n != m.dim || m.output.n != m.dim)
    return in.error("matrices", "width " + std::to_string(m.input.n) + "/" + std::to_string(m.output.n) +
                                    " differs from dim " + std::to_string(m.dim));
  if (m.output.m < m.nlabels) return in.error("output matrix", std::to_string(m.output.m) + " rows for " + std::to_string(m.nlabels) + " labels");
  if (in.remaining() != 0) return in.error("end", std::to_string(in.remaining()) + " unexpected trailing bytes");
  // Every row an input can name must exist: the words, then the buckets or the pruned rows.
  const int64_t rows = m.nwords + (m.pruned() ? 0 : int64_t(m.bucket));
  if (m.input.m < rows) return in.error("input matrix", std::to_string(m.input.m) + " rows, the dictionary needs " + std::to_string(rows));
  for (const auto& [k, v] : pairs)
    if (v < 0 || m.nwords + int64_t(v) >= m.input.m)
      return in.error("dictionary.pruneidx", "bucket " + std::to_string(k) + " maps to row " + std::to_string(v) +
                                                 ", past the input matrix's " + std::to_string(m.input.m) + " rows");
  if (!pairs.empty()) m.prune.build(pairs, std::max(m.bucket, 1));

  m.ids.build(m.words);
  std::string bracketed;
  m.subwords.resize(size_t(size));
  for (int32_t i = 0; i < size; i++) {  // dictionary.cc initNgrams
    auto& sw = m.subwords[size_t(i)];
    sw.push_back(i);
    if (m.words[size_t(i)] != kEos) {
      bracketed = "<" + m.words[size_t(i)] + ">";
      m.char_ngrams(bracketed, sw);
    }
  }
  if (m.loss == kLossHs) m.build_tree();
  return model;
}

std::vector<FastTextModel::Label> FastTextModel::predict(std::string_view line, int k, float threshold) const {
  const Impl& m = *impl_;
  thread_local std::vector<int32_t> ids;
  thread_local std::vector<int32_t> word_hashes;
  thread_local std::string bracketed;
  ids.clear();
  word_hashes.clear();
  // dictionary.cc getLine/readWord: whitespace separates tokens; '\n' ends the line as "</s>".
  auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' || c == '\0'; };
  size_t pos = 0;
  while (pos < line.size()) {
    std::string_view token;
    while (pos < line.size() && is_space(line[pos]) && line[pos] != '\n') ++pos;
    if (pos >= line.size()) break;
    if (line[pos] == '\n') {
      token = kEos;
      ++pos;
    } else {
      const size_t start = pos;
      while (pos < line.size() && !is_space(line[pos])) ++pos;
      token = line.substr(start, pos - start);
    }
    const uint32_t h = fnv(token);
    const int32_t wid = m.ids.find(token, h, m.words);
    const bool label = wid < 0 ? token.substr(0, kLabelPrefix.size()) == kLabelPrefix : m.types[size_t(wid)] == kTypeLabel;
    if (!label) {
      if (wid < 0) {
        if (token != kEos) {
          bracketed.assign("<").append(token).append(">");
          m.char_ngrams(bracketed, ids);
        }
      } else if (m.maxn <= 0) {
        ids.push_back(wid);
      } else {
        const auto& sw = m.subwords[size_t(wid)];
        ids.insert(ids.end(), sw.begin(), sw.end());
      }
      word_hashes.push_back(static_cast<int32_t>(h));
    }
    if (token == kEos) break;
  }
  for (size_t i = 0; i < word_hashes.size(); i++) {  // addWordNgrams
    uint64_t h = static_cast<uint64_t>(static_cast<int64_t>(word_hashes[i]));
    for (size_t j = i + 1; j < word_hashes.size() && j < i + size_t(std::max(m.word_ngrams, 1)); j++) {
      h = h * 116049371 + static_cast<uint64_t>(static_cast<int64_t>(word_hashes[j]));
      m.push_hash(ids, static_cast<int32_t>(h % uint64_t(m.bucket)));
    }
  }
  std::vector<Label> out;
  if (ids.empty()) return out;

  // model.cc computeHidden: the mean of the input rows.
  thread_local std::vector<float> hidden;
  hidden.assign(size_t(m.dim), 0.0f);
  for (int32_t id : ids) m.input.add_row(hidden.data(), id);
  const float scale = static_cast<float>(1.0 / double(ids.size()));
  for (float& x : hidden) x *= scale;

  const size_t kk = k < 0 ? size_t(m.nlabels) : size_t(std::max(k, 1));
  Impl::Heap heap;
  heap.reserve(kk + 1);
  if (m.loss == kLossHs) {
    m.dfs(kk, threshold, 2 * m.nlabels - 2, 0.0f, heap, hidden.data());
  } else {
    std::vector<float> o(size_t(m.nlabels));
    for (int32_t i = 0; i < m.nlabels; i++) o[size_t(i)] = m.output.dot_row(hidden.data(), i);
    if (m.loss == kLossSoftmax) {
      float max = o[0], z = 0;
      for (float v : o) max = std::max(v, max);
      for (float& v : o) {
        v = static_cast<float>(std::exp(double(v - max)));
        z += v;
      }
      for (float& v : o) v /= z;
    } else {
      for (float& v : o) v = Impl::table_sigmoid(v);
    }
    for (int32_t i = 0; i < m.nlabels; i++) {  // loss.cc findKBest
      if (o[size_t(i)] < threshold) continue;
      if (heap.size() == kk && std_log(o[size_t(i)]) < heap.front().first) continue;
      Impl::heap_push(heap, kk, std_log(o[size_t(i)]), i);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), Impl::compare);
  out.reserve(heap.size());
  for (const auto& [score, label] : heap)
    out.push_back({m.words[size_t(m.nwords + label)], static_cast<float>(std::exp(score))});
  return out;
}

int FastTextModel::labels() const { return impl_->nlabels; }

std::string FastTextModel::describe() const {
  const Impl& m = *impl_;
  const char* loss = m.loss == kLossHs ? "hs" : m.loss == kLossSoftmax ? "softmax" : "ova";
  std::string s = std::string("supervised, ") + loss + " loss, " + std::to_string(m.nlabels) + " labels, dim " +
                  std::to_string(m.dim) + ", " + std::to_string(m.nwords) + " words, char n-grams " +
                  std::to_string(m.minn) + "-" + std::to_string(m.maxn) + ", word n-grams " + std::to_string(m.word_ngrams);
  if (m.input.quant) s += ", quantized input";
  if (m.output.quant) s += ", quantized output";
  if (m.pruneidx_size >= 0) s += ", pruned to " + std::to_string(m.pruneidx_size) + " buckets";
  return s;
}

}  // namespace kanana::data
