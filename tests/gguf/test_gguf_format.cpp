// GGUF writer -> reader round trips, ggml's block layouts, and files that are truncated or lie
// (every error must name the tensor or key and nothing may crash or allocate absurdly).
#include <QtTest>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "base/files.h"
#include "gguf/gguf.h"
#include "gguf/llama_gguf.h"
#include "gguf/quants.h"
#include "infer/weights.h"

using namespace kanana;
using namespace kanana::gguf;
namespace fs = std::filesystem;

namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}
void spit(const fs::path& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(s.data(), std::streamsize(s.size()));
}

// The byte offset of tensor `name`'s info record (just after its name) in a GGUF header.
size_t info_offset(const std::string& file, const std::string& name) {
  std::string needle(8, '\0');
  const uint64_t n = name.size();
  std::memcpy(needle.data(), &n, 8);
  needle += name;
  const size_t at = file.find(needle);
  return at == std::string::npos ? at : at + needle.size();
}

template <typename T>
void poke(std::string& s, size_t at, T v) {
  std::memcpy(s.data() + at, &v, sizeof(T));
}

}  // namespace

class TestGgufFormat : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;
  fs::path dir() const { return tmp_.path().toStdString(); }

  // A small file with every value type and one tensor of each written type. Returns its path.
  fs::path write_sample(const std::string& file_name, std::vector<float>* weights = nullptr) {
    GgufWriter w;
    auto ok = [](const Status& s) { QVERIFY2(s.is_ok(), s.to_string().c_str()); };
    ok(w.add("general.architecture", Value::str("llama")));
    ok(w.add(kAlignmentKey, Value::u32(32)));
    ok(w.add("t.u8", Value::u8(200)));
    ok(w.add("t.i8", Value::i8(-100)));
    ok(w.add("t.u16", Value::u16(60000)));
    ok(w.add("t.i16", Value::i16(-30000)));
    ok(w.add("t.u32", Value::u32(4000000000u)));
    ok(w.add("t.i32", Value::i32(-2000000000)));
    ok(w.add("t.f32", Value::f32(1.5f)));
    ok(w.add("t.bool", Value::boolean(true)));
    ok(w.add("t.string", Value::str("한국어 and English")));
    ok(w.add("t.u64", Value::u64(0xFFFFFFFFFFFFFFF0ull)));
    ok(w.add("t.i64", Value::i64(-(int64_t(1) << 60))));
    ok(w.add("t.f64", Value::f64(0.1)));
    ok(w.add("t.arr.string", Value::string_array({"a", "", "<|eot_id|>", "Ġthe"})));
    ok(w.add("t.arr.i32", Value::int_array(ValueType::kInt32, {1, -2, 3})));
    ok(w.add("t.arr.u8", Value::int_array(ValueType::kUint8, {0, 255})));
    ok(w.add("t.arr.bool", Value::int_array(ValueType::kBool, {1, 0, 1})));
    ok(w.add("t.arr.u64", Value::int_array(ValueType::kUint64, {int64_t(-1), 7})));
    ok(w.add("t.arr.f32", Value::float_array(ValueType::kFloat32, {0.5, -1.25})));
    ok(w.add("t.arr.f64", Value::float_array(ValueType::kFloat64, {1e-300})));
    ok(w.add("t.arr.empty", Value::string_array({})));
    const std::vector<float> v = gaussian(64 * 3, 1);
    if (weights) *weights = v;
    const GgmlType types[] = {GgmlType::kF32, GgmlType::kF16, GgmlType::kQ8_0, GgmlType::kQ4_0};
    const char* names[] = {"w.f32", "w.f16", "w.q8_0", "w.q4_0"};
    for (int k = 0; k < 4; ++k) ok(w.add_tensor(names[k], types[k], {64, 3}));
    ok(w.add_tensor("norm", GgmlType::kF32, {5}));
    const fs::path path = dir() / file_name;
    ok(w.open(path));
    for (int k = 0; k < 4; ++k) {
      std::vector<uint8_t> bytes(row_bytes(types[k], 64) * 3);
      ok(quantize_rows(types[k], v.data(), 3, 64, bytes.data(), names[k]));
      ok(w.write_tensor(names[k], bytes));
    }
    const float norm[5] = {1, 2, 3, 4, 5};
    ok(w.write_tensor("norm", {reinterpret_cast<const uint8_t*>(norm), sizeof norm}));
    ok(w.commit());
    return path;
  }

 private Q_SLOTS:
  void roundTripEveryValueTypeAndTensor() {
    std::vector<float> v;
    const fs::path path = write_sample("all.gguf", &v);
    auto f = GgufFile::open(path);
    QVERIFY2(f.is_ok(), f.status().to_string().c_str());
    const GgufFile& g = **f;
    QCOMPARE(g.version(), 3u);
    QCOMPARE(g.alignment(), 32u);
    QCOMPARE(g.metadata().size(), size_t(22));
    QCOMPARE(g.metadata()[0].key, std::string("general.architecture"));  // order kept
    QCOMPARE(g.find("general.architecture")->s, std::string("llama"));
    QCOMPARE(g.find("t.u8")->u, uint64_t(200));
    QCOMPARE(g.find("t.i8")->i, int64_t(-100));
    QCOMPARE(g.find("t.u16")->u, uint64_t(60000));
    QCOMPARE(g.find("t.i16")->i, int64_t(-30000));
    QCOMPARE(g.find("t.u32")->u, uint64_t(4000000000u));
    QCOMPARE(g.find("t.i32")->i, int64_t(-2000000000));
    QCOMPARE(g.find("t.f32")->f, 1.5);
    QCOMPARE(g.find("t.bool")->i, int64_t(1));
    QCOMPARE(g.find("t.bool")->type, ValueType::kBool);
    QCOMPARE(g.find("t.string")->s, std::string("한국어 and English"));
    QCOMPARE(g.find("t.u64")->u, 0xFFFFFFFFFFFFFFF0ull);
    QCOMPARE(g.find("t.i64")->i, -(int64_t(1) << 60));
    QCOMPARE(g.find("t.f64")->f, 0.1);
    QCOMPARE(g.find("t.arr.string")->strings, (std::vector<std::string>{"a", "", "<|eot_id|>", "Ġthe"}));
    QCOMPARE(g.find("t.arr.i32")->ints, (std::vector<int64_t>{1, -2, 3}));
    QCOMPARE(g.find("t.arr.i32")->array_type, ValueType::kInt32);
    QCOMPARE(g.find("t.arr.u8")->ints, (std::vector<int64_t>{0, 255}));
    QCOMPARE(g.find("t.arr.bool")->ints, (std::vector<int64_t>{1, 0, 1}));
    QCOMPARE(g.find("t.arr.u64")->ints, (std::vector<int64_t>{-1, 7}));
    QCOMPARE(g.find("t.arr.f32")->floats, (std::vector<double>{0.5, -1.25}));
    QCOMPARE(g.find("t.arr.f64")->floats, (std::vector<double>{1e-300}));
    QCOMPARE(g.find("t.arr.empty")->array_size(), size_t(0));
    QVERIFY(g.find("missing") == nullptr);

    QCOMPARE(g.tensors().size(), size_t(5));
    for (const auto& t : g.tensors()) QCOMPARE(t.offset % 32, uint64_t(0));
    QCOMPARE(g.data_offset() % 32, uint64_t(0));
    const TensorInfo* q4 = g.find_tensor("w.q4_0");
    QVERIFY(q4);
    QCOMPARE(q4->ne, (std::vector<uint64_t>{64, 3}));
    QCOMPARE(q4->nbytes, uint64_t(3 * 2 * 18));
    QCOMPARE(g.find_tensor("w.q8_0")->nbytes, uint64_t(3 * 2 * 34));
    // The exact values for F32, within each format's bound for the others.
    auto f32 = g.tensor_as_f32("w.f32");
    QVERIFY(f32.is_ok());
    QCOMPARE(*f32, v);
    auto f16 = g.tensor_as_f32("w.f16");
    for (size_t i = 0; i < v.size(); ++i) QVERIFY(std::fabs((*f16)[i] - v[i]) <= std::fabs(v[i]) * (1.f / 2048) + 1e-7f);
    auto norm = g.tensor_as_f32("norm");
    QCOMPARE(*norm, (std::vector<float>{1, 2, 3, 4, 5}));
    // The file ends exactly after the last tensor's padded data.
    QCOMPARE(fs::file_size(path), g.data_offset() + g.tensors().back().offset + 32);
  }

  // The two block layouts as ggml.h declares them, from hand-made bytes.
  void blockLayoutsAreGgmls() {
    uint8_t q4[18];
    const uint16_t one = 0x3C00;  // fp16 1.0
    std::memcpy(q4, &one, 2);
    for (int j = 0; j < 16; ++j) q4[2 + j] = uint8_t(j | ((15 - j) << 4));
    float out[32];
    QVERIFY(dequantize_row(GgmlType::kQ4_0, q4, 32, out, "q4").is_ok());
    for (int j = 0; j < 16; ++j) {
      QCOMPARE(out[j], float(j - 8));        // low nibbles: weights 0..15
      QCOMPARE(out[j + 16], float(7 - j));   // high nibbles: weights 16..31
    }
    uint8_t q8[34];
    const uint16_t half = 0x3800;  // fp16 0.5
    std::memcpy(q8, &half, 2);
    for (int j = 0; j < 32; ++j) q8[2 + j] = uint8_t(int8_t(j - 16));
    QVERIFY(dequantize_row(GgmlType::kQ8_0, q8, 32, out, "q8").is_ok());
    for (int j = 0; j < 32; ++j) QCOMPARE(out[j], 0.5f * float(j - 16));

    // Q8_0 of a block whose extreme is 127 * 0.5: d = 0.5 exactly, values round to the grid.
    std::vector<float> x(32);
    for (int j = 0; j < 32; ++j) x[j] = 0.5f * float(j * 8 - 127) + (j == 0 ? 0.f : 0.1f * (j % 2 ? 1 : -1));
    x[31] = 63.5f;  // the extremes are -63.5 and 63.5 = 127 * 0.5
    uint8_t enc[34];
    QVERIFY(quantize_row(GgmlType::kQ8_0, x.data(), 32, enc, "q8").is_ok());
    uint16_t d;
    std::memcpy(&d, enc, 2);
    QCOMPARE(d, uint16_t(0x3800));
    for (int j = 0; j < 32; ++j) QCOMPARE(int(int8_t(enc[2 + j])), int(std::lround(x[j] / 0.5f)));
  }

  // Q4_0 carries exactly the scales and levels of the project's own q4 (infer/weights.h); the
  // error bounds of both block formats hold on Gaussian rows with outliers.
  void quantizationBounds() {
    const int64_t rows = 16, n = 256;
    std::vector<float> w = gaussian(size_t(rows * n), 7, 0.05f);
    for (size_t i = 0; i < w.size(); i += 97) w[i] *= 8;  // outliers
    auto ref = infer::quantize(w.data(), rows, n, infer::WeightFormat::kQ4, "ref");
    QVERIFY(ref.is_ok());
    std::vector<uint8_t> q4(row_bytes(GgmlType::kQ4_0, n) * rows), q8(row_bytes(GgmlType::kQ8_0, n) * rows);
    QVERIFY(quantize_rows(GgmlType::kQ4_0, w.data(), rows, n, q4.data(), "w").is_ok());
    QVERIFY(quantize_rows(GgmlType::kQ8_0, w.data(), rows, n, q8.data(), "w").is_ok());
    std::vector<float> a(n), b(n), c(n);
    for (int64_t r = 0; r < rows; ++r) {
      ref->dequantize_row(r, a.data());
      QVERIFY(dequantize_row(GgmlType::kQ4_0, q4.data() + r * row_bytes(GgmlType::kQ4_0, n), n, b.data(), "w").is_ok());
      QVERIFY(dequantize_row(GgmlType::kQ8_0, q8.data() + r * row_bytes(GgmlType::kQ8_0, n), n, c.data(), "w").is_ok());
      for (int64_t k = 0; k < n; ++k) {
        QCOMPARE(b[k], a[k]);
        const float* blk = w.data() + r * n + k / 32 * 32;
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(blk[j]));
        const float d4 = std::fabs(ref->q4_block_scale(r, k / 32));
        QVERIFY(std::fabs(b[k] - w[r * n + k]) <= d4 / 2 * 1.0001f);
        const float d8 = amax / 127;
        QVERIFY2(std::fabs(c[k] - w[r * n + k]) <= d8 * 0.5f + 127 * d8 * (1.f / 2048) + 1e-9f,
                 qPrintable(QString("q8 row %1 col %2").arg(r).arg(k)));
      }
    }
  }

  void writerRefusesBadInput() {
    GgufWriter w;
    QVERIFY(w.add("k", Value::u32(1)).is_ok());
    QVERIFY(!w.add("k", Value::u32(2)).is_ok());
    QVERIFY(!w.add(kAlignmentKey, Value::u32(24)).is_ok());
    QVERIFY(!w.add("bad", Value::int_array(ValueType::kUint8, {256})).is_ok());
    Status width = w.add_tensor("blk.0.ffn_down.weight", GgmlType::kQ4_0, {172, 64});
    QVERIFY(!width.is_ok());
    QVERIFY2(width.message().find("blk.0.ffn_down.weight") != std::string::npos, width.message().c_str());
    QVERIFY(w.add_tensor("a", GgmlType::kF32, {4}).is_ok());
    QVERIFY(w.add_tensor("b", GgmlType::kF32, {4}).is_ok());
    const fs::path path = dir() / "refused.gguf";
    QVERIFY(w.open(path).is_ok());
    const float x[4] = {1, 2, 3, 4};
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(x), sizeof x);
    QVERIFY(!w.write_tensor("b", bytes).is_ok());               // out of order
    QVERIFY(!w.write_tensor("a", bytes.first(8)).is_ok());      // wrong size
    QVERIFY(w.write_tensor("a", bytes).is_ok());
    Status st = w.commit();                                     // "b" never written
    QVERIFY(!st.is_ok());
    QVERIFY(st.message().find("'b'") != std::string::npos);
  }

  void abandonedWriteLeavesNoFile() {
    const fs::path path = dir() / "abandoned.gguf";
    {
      GgufWriter w;
      QVERIFY(w.add_tensor("a", GgmlType::kF32, {4}).is_ok());
      QVERIFY(w.open(path).is_ok());
    }
    QVERIFY(!fs::exists(path));
    for (const auto& e : fs::directory_iterator(dir())) {
      QVERIFY2(e.path().filename().string().find("abandoned") == std::string::npos, e.path().c_str());
    }
  }

  // Every prefix of a valid file that cuts into its header or tensor bytes is refused with an
  // error (never a crash); a prefix that cuts into the data names the tensor whose bytes are
  // missing.
  void truncatedFilesAreRefused() {
    const fs::path path = write_sample("trunc_src.gguf");
    const std::string full = slurp(path);
    auto g = GgufFile::open(path);
    QVERIFY(g.is_ok());
    const uint64_t data_start = (*g)->data_offset();
    // The last tensor's padding may be missing (llama.cpp accepts that too); nothing else.
    const uint64_t end = data_start + (*g)->tensors().back().offset + (*g)->tensors().back().nbytes;
    QVERIFY(end < full.size());
    const fs::path cut = dir() / "trunc.gguf";
    spit(cut, full.substr(0, end));
    QVERIFY(GgufFile::open(cut).is_ok());
    for (size_t len = 0; len < end; len += (len < data_start ? 1 : 7)) {
      spit(cut, full.substr(0, len));
      auto f = GgufFile::open(cut);
      QVERIFY2(!f.is_ok(), qPrintable(QString("prefix of %1 bytes was accepted").arg(len)));
      if (len > data_start) {
        const std::string& m = f.status().message();
        QVERIFY2(m.find("tensor '") != std::string::npos && m.find("truncated") != std::string::npos, m.c_str());
      }
    }
    // The very last tensor: its bytes missing at the end.
    spit(cut, full.substr(0, full.size() - 40));
    auto f = GgufFile::open(cut);
    QVERIFY(!f.is_ok());
    QVERIFY2(f.status().message().find("tensor 'norm'") != std::string::npos, f.status().message().c_str());
  }

  void headersThatLieAreRefused() {
    const std::string full = slurp(write_sample("lie_src.gguf"));
    const fs::path bad = dir() / "lie.gguf";
    auto expect = [&](const std::string& bytes, const std::string& must_name, const char* what) {
      spit(bad, bytes);
      auto f = GgufFile::open(bad);
      QVERIFY2(!f.is_ok(), what);
      QVERIFY2(f.status().message().find(must_name) != std::string::npos,
               qPrintable(QString("%1: %2").arg(what, QString::fromStdString(f.status().message()))));
    };
    const size_t q8 = info_offset(full, "w.q8_0");
    QVERIFY(q8 != std::string::npos);
    // n_dims (u32), ne[0], ne[1] (u64), type (u32), offset (u64)
    {  // more rows than the data holds: overlaps the next tensor
      std::string s = full;
      poke<uint64_t>(s, q8 + 4 + 8, 5);
      expect(s, "tensor 'w.q8_0'", "ne[1] grown");
    }
    {  // the last tensor claims more bytes than the file has
      std::string s = full;
      const size_t norm = info_offset(full, "norm");
      poke<uint64_t>(s, norm + 4, 1000);
      expect(s, "tensor 'norm'", "norm grown");
    }
    {  // an offset past the end
      std::string s = full;
      poke<uint64_t>(s, q8 + 4 + 16 + 4, uint64_t(1) << 40);
      expect(s, "tensor 'w.q8_0'", "offset far away");
    }
    {  // an unaligned offset
      std::string s = full;
      poke<uint64_t>(s, q8 + 4 + 16 + 4, 33);
      expect(s, "tensor 'w.q8_0'", "offset unaligned");
    }
    {  // an unknown ggml type
      std::string s = full;
      poke<uint32_t>(s, q8 + 4 + 16, 99);
      expect(s, "tensor 'w.q8_0' has unknown ggml type 99", "type 99");
    }
    {  // a row width that is not a whole number of blocks
      std::string s = full;
      poke<uint64_t>(s, q8 + 4, 48);
      expect(s, "tensor 'w.q8_0'", "ne[0] 48");
    }
    {  // zero dimensions
      std::string s = full;
      poke<uint32_t>(s, q8, 0);
      expect(s, "tensor 'w.q8_0'", "n_dims 0");
    }
    {  // absurd counts in the fixed header: refused before any allocation
      std::string s = full;
      poke<uint64_t>(s, 16, uint64_t(1) << 62);
      expect(s, "metadata keys", "kv count");
      s = full;
      poke<uint64_t>(s, 8, uint64_t(1) << 62);
      expect(s, "tensors", "tensor count");
    }
    {  // a string length beyond the file
      std::string s = full;
      poke<uint64_t>(s, 24, uint64_t(1) << 50);
      expect(s, "metadata key #0", "key length");
    }
    {  // an array count beyond the file, and an unknown value type, name their key
      std::string s = full;
      const size_t at = s.find("t.arr.i32") + 9;
      poke<uint64_t>(s, at + 8, uint64_t(1) << 61);
      expect(s, "'t.arr.i32'", "array count");
      s = full;
      poke<uint32_t>(s, at, 77);
      expect(s, "'t.arr.i32'", "value type 77");
    }
    {
      std::string s = full;
      s[0] = 'X';
      expect(s, "not a GGUF file", "magic");
      s = full;
      poke<uint32_t>(s, 4, 1);
      expect(s, "version 1", "version");
    }
  }

  // llama.cpp's converter: reshape(heads, 2, head_dim/2, cols).swapaxes(1, 2). For two heads of
  // four rows, the rows come out as 0 2 1 3 | 4 6 5 7.
  void ropePermutationMatchesTheConverter() {
    const int64_t expected[] = {0, 2, 1, 3, 4, 6, 5, 7};
    for (int64_t r = 0; r < 8; ++r) QCOMPARE(rope_permuted_source_row(r, 8, 2), expected[r]);
    // head_dim 8: 0 4 1 5 2 6 3 7
    const int64_t expected8[] = {0, 4, 1, 5, 2, 6, 3, 7};
    for (int64_t r = 0; r < 8; ++r) QCOMPARE(rope_permuted_source_row(r, 8, 1), expected8[r]);
  }

  // Llama 3.1's rope scaling (theta 500000, factor 8, low 1, high 4, original 8192, head_dim
  // 128): high frequencies unscaled, low ones divided by 8, a smooth band in between.
  void llama3RopeFactors() {
    model::LlamaConfig c;
    c.head_dim = 128;
    c.rope_theta = 500000;
    model::RopeScaling r;
    r.rope_type = "llama3";
    r.factor = 8;
    r.low_freq_factor = 1;
    r.high_freq_factor = 4;
    r.original_max_position_embeddings = 8192;
    c.rope_scaling = r;
    const auto f = llama3_rope_factors(c);
    QCOMPARE(f.size(), size_t(64));
    QCOMPARE(f.front(), 1.f);
    QCOMPARE(f.back(), 8.f);
    int smooth = 0;
    for (size_t i = 1; i < f.size(); ++i) {
      QVERIFY(f[i] >= f[i - 1]);
      if (f[i] > 1.f && f[i] < 8.f) ++smooth;
    }
    QVERIFY(smooth > 0);
    c.rope_scaling.reset();
    QVERIFY(llama3_rope_factors(c).empty());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestGgufFormat)
#include "test_gguf_format.moc"
