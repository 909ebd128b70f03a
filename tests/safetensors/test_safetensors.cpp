// safetensors reader/writer: bit-exact round trips for every dtype, the reference writer's exact
// byte layout, every validation error on crafted bad files, sharded checkpoints, a fuzz pass
// over mutated files, and interop with an independent Python implementation (st_reference.py).
#include <torch/torch.h>

#include <QtTest>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "safetensors/safetensors.h"
#include "test_support.h"

using namespace kanana;
namespace fs = std::filesystem;

namespace {

// Keep in step with EXPECTED in st_reference.py.
std::vector<std::pair<std::string, torch::Tensor>> expected_tensors() {
  return {
      {"model.a.f32", torch::arange(6, torch::kFloat).reshape({2, 3}) * 0.5 - 1.0},
      {"model.b.bf16", torch::tensor({1.0, -2.5, 3.140625, -0.0, 65280.0}).to(torch::kBFloat16)},
      {"model.c.f16", torch::tensor({0.5, -1.25, 1024.0, 6.103515625e-05}).reshape({2, 2}).to(torch::kHalf)},
      {"model.d.i64", torch::tensor({int64_t{-1}, int64_t{1} << 40, int64_t{7}}, torch::kLong)},
      {"model.e.i32", torch::tensor({INT32_MIN, INT32_MAX}, torch::kInt).reshape({1, 2})},
      {"model.f.i16", torch::tensor({-300, 300}).to(torch::kShort)},
      {"model.g.i8", torch::tensor({-128, 127, 0}).to(torch::kChar)},
      {"model.h.u8", torch::tensor({0, 255, 17}).to(torch::kByte)},
      {"model.i.bool", torch::tensor({1, 0, 1}).to(torch::kBool)},
      {"model.j.f64", torch::tensor({3.141592653589793, -1e300}, torch::kDouble)},
      {"scalar", torch::scalar_tensor(42.0, torch::kFloat)},
      {"empty", torch::zeros({0, 4})},
  };
}
const std::map<std::string, std::string> kPyMetadata = {{"format", "pt"}, {"source", "st_reference.py"}};

bool bit_equal(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  auto ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()) == 0;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
  return s;
}
// A raw file: length prefix, the header text as given, `data_bytes` bytes of data.
std::string raw_file(const std::string& header, size_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\x01');
}

// Debian's python3 with python3-torch (not the pyenv one on PATH); importing torch takes
// seconds, so probe once.
QString python_with_torch() {
  static const QString found = [] {
    const QString py = "/usr/bin/python3";
    if (!QFile::exists(py)) return QString();
    QProcess p;
    p.start(py, {"-c", "import torch"});
    if (!p.waitForFinished(60000) || p.exitCode() != 0) return QString();
    return py;
  }();
  return found;
}

}  // namespace

class TestSafetensors : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path dir() const { return fs::path(tmp_.path().toStdString()); }

  // Expects open() of a file with these bytes to fail with every `needles` in the message.
  void expect_open_error(const std::string& bytes, std::initializer_list<std::string> needles) {
    static int counter = 0;
    const fs::path p = dir() / ("bad" + std::to_string(counter++) + ".safetensors");
    write_bytes(p, bytes);
    auto f = st::SafetensorsFile::open(p);
    QVERIFY2(!f.is_ok(), ("expected an error for " + p.string()).c_str());
    const std::string msg = f.status().message();
    QVERIFY2(msg.find(p.string()) != std::string::npos, msg.c_str());
    for (const auto& n : needles) QVERIFY2(msg.find(n) != std::string::npos, (msg + "  [missing: " + n + "]").c_str());
  }

 private Q_SLOTS:
  void roundTripIsBitExactForEveryDtype() {
    auto tensors = expected_tensors();
    // A non-contiguous input must be written in logical (row-major) order.
    tensors.emplace_back("transposed", torch::arange(12, torch::kFloat).reshape({3, 4}).t());
    tensors.emplace_back("bf16.random", torch::randn({17, 5}).to(torch::kBFloat16));
    const fs::path p = dir() / "round.safetensors";
    QVERIFY(st::save_safetensors_file(p, tensors, {{"format", "pt"}}).is_ok());
    auto f = st::SafetensorsFile::open(p);
    QVERIFY2(f.is_ok(), f.status().to_string().c_str());
    QCOMPARE((*f)->tensors().size(), tensors.size());
    QCOMPARE((*f)->metadata().at("format"), std::string("pt"));
    for (const auto& [name, want] : tensors) {
      auto got = (*f)->tensor(name);
      QVERIFY2(got.is_ok(), got.status().to_string().c_str());
      QVERIFY2(bit_equal(*got, want), name.c_str());
    }
    QCOMPARE((*f)->tensor("scalar")->dim(), int64_t{0});
    QCOMPARE((*f)->tensor("empty")->sizes().vec(), (std::vector<int64_t>{0, 4}));
    QVERIFY(!(*f)->tensor("nope").is_ok());
  }

  void tensorsAreZeroCopyAndOutliveTheFile() {
    const fs::path p = dir() / "zc.safetensors";
    auto w = torch::randn({64, 32}).to(torch::kBFloat16);
    QVERIFY(st::save_safetensors_file(p, {{"w", w}}, {}).is_ok());
    torch::Tensor view, converted;
    {
      auto f = st::SafetensorsFile::open(p);
      QVERIFY(f.is_ok());
      view = *(*f)->tensor("w");
      const auto* base = reinterpret_cast<const char*>(view.data_ptr());
      // Zero copy: the tensor's storage is inside the file mapping, right after the header.
      QCOMPARE(reinterpret_cast<uintptr_t>(base) % 2, uintptr_t{0});
      auto same = (*f)->tensor("w", torch::kBFloat16);
      QCOMPARE(same->data_ptr(), view.data_ptr());
      converted = *(*f)->tensor("w", torch::kFloat);
      QVERIFY(converted.data_ptr() != view.data_ptr());
    }  // SafetensorsFile gone; the mapping must live on inside `view`.
    QVERIFY(bit_equal(view, w));
    QVERIFY(bit_equal(converted, w.to(torch::kFloat)));
  }

  void bf16ToFp32FastPathMatchesTorch() {
    // Every bf16 bit pattern (NaNs, infinities, subnormals, -0) widens exactly as LibTorch does.
    auto all = torch::arange(0, 65536, torch::kInt).to(torch::kShort).view(torch::kBFloat16);
    const fs::path p = dir() / "allbf16.safetensors";
    QVERIFY(st::save_safetensors_file(p, {{"all", all}}, {}).is_ok());
    auto f = st::SafetensorsFile::open(p);
    QVERIFY(f.is_ok());
    auto got = (*f)->tensor("all", torch::kFloat);
    QVERIFY(got.is_ok());
    QVERIFY(bit_equal(*got, all.to(torch::kFloat)));
    QVERIFY(bit_equal(*(*f)->tensor("all", torch::kDouble), all.to(torch::kDouble)));
    (*f)->release_pages("all");  // advisory; the data must still read back the same
    QVERIFY(bit_equal(*(*f)->tensor("all"), all));
  }

  void headerMatchesReferenceWriterBytes() {
    // Known answers from the reference implementation's own tests (tensor.rs).
    const fs::path p = dir() / "attn0.safetensors";
    QVERIFY(st::save_safetensors_file(p, {{"attn0", torch::arange(6, torch::kFloat).reshape({1, 1, 2, 3})}}, {}).is_ok());
    const std::string header = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ";
    std::string data(24, '\0');
    for (int i = 0; i < 6; ++i) {
      float v = static_cast<float>(i);
      std::memcpy(&data[4 * i], &v, 4);
    }
    QCOMPARE(read_bytes(p), le64(72) + header + data);

    QVERIFY(st::save_safetensors_file(dir() / "empty.safetensors", {}, {}).is_ok());
    QCOMPARE(read_bytes(dir() / "empty.safetensors"), le64(8) + "{}      ");
    QVERIFY(st::save_safetensors_file(dir() / "meta.safetensors", {}, {{"framework", "pt"}}).is_ok());
    QCOMPARE(read_bytes(dir() / "meta.safetensors"), le64(40) + "{\"__metadata__\":{\"framework\":\"pt\"}}     ");

    // Order: descending alignment (I64, F64, F32, I32, BF16, F16, I16, I8, U8, BOOL), then name.
    auto f = st::SafetensorsFile::open(dir() / "mixed.safetensors");
    QVERIFY(!f.is_ok());  // not written yet: a clear not-found error, not a crash
    QVERIFY(st::save_safetensors_file(dir() / "mixed.safetensors", expected_tensors(), kPyMetadata).is_ok());
    f = st::SafetensorsFile::open(dir() / "mixed.safetensors");
    QVERIFY(f.is_ok());
    std::vector<std::string> order;
    for (const auto& t : (*f)->tensors()) order.push_back(t.name);
    const std::vector<std::string> want = {"model.d.i64", "model.j.f64", "empty", "model.a.f32", "scalar",
                                           "model.e.i32", "model.b.bf16", "model.c.f16", "model.f.i16",
                                           "model.g.i8", "model.h.u8", "model.i.bool"};
    QCOMPARE(order, want);
    QCOMPARE((*f)->data_offset() % 8, uint64_t{0});
  }

  void rejectsMalformedFilesWithClearErrors() {
    const std::string ok_entry = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    expect_open_error("abc", {"truncated"});
    expect_open_error(le64(1000) + "{}", {"larger than the file"});
    expect_open_error(le64(~uint64_t{0}) + "{}", {"header length"});
    expect_open_error(raw_file("{\"w\":", 0), {"not valid JSON"});
    expect_open_error(raw_file("[1,2]", 0), {"must be a JSON object"});
    expect_open_error(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16),
                      {"'w'", "needs 8"});
    expect_open_error(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4), {"'w'", "past the data section"});
    expect_open_error(raw_file("{\"w\":" + ok_entry + "}", 12), {"trailing bytes"});
    expect_open_error(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16), {"'w'", "hole"});
    expect_open_error(raw_file("{\"a\":" + ok_entry + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8),
                      {"'b'", "overlap"});
    expect_open_error(raw_file("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2),
                      {"'w'", "unsupported dtype 'F8_E4M3'"});
    expect_open_error(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8), {"'w'", "negative"});
    expect_open_error(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8),
                      {"'w'", "overflows"});
    expect_open_error(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8), {"'w'", "end before begin"});
    expect_open_error(raw_file("{\"w\":" + ok_entry + ",\"w\":" + ok_entry + "}", 8), {"'w'", "twice"});
    expect_open_error(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8), {"'w'", "data_offsets"});
    expect_open_error(raw_file("{\"__metadata__\":{\"n\":1},\"w\":" + ok_entry + "}", 8), {"__metadata__", "'n'"});
    expect_open_error(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8), {"'w'", "shape[0]"});

    // Zero-size tensors and a shape with a zero next to a huge dimension are valid.
    const fs::path p = dir() / "zero.safetensors";
    write_bytes(p, raw_file("{\"z\":{\"dtype\":\"BF16\",\"shape\":[0,9223372036854775807],\"data_offsets\":[0,0]},"
                            "\"w\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}}", 3));
    auto f = st::SafetensorsFile::open(p);
    QVERIFY2(f.is_ok(), f.status().to_string().c_str());
    QCOMPARE((*f)->tensor("z")->numel(), int64_t{0});
    // BOOL bytes other than 0/1 are refused at tensor() time (they are UB as C++ bool).
    const std::string bool_header = "{\"b\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    write_bytes(p, le64(bool_header.size()) + bool_header + std::string("\x01\x02", 2));
    f = st::SafetensorsFile::open(p);
    QVERIFY(f.is_ok());
    QVERIFY(!(*f)->tensor("b").is_ok());
  }

  void misalignedOffsetsAreCopiedNotCrashing() {
    // A non-reference writer may put an F32 at an odd offset; we must still read it correctly.
    float v[2] = {1.5f, -2.0f};
    std::string data = "\x07" + std::string(reinterpret_cast<const char*>(v), 8);
    const std::string header =
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1,9]}}";
    const fs::path p = dir() / "misaligned.safetensors";
    write_bytes(p, le64(header.size()) + header + data);
    auto f = st::SafetensorsFile::open(p);
    QVERIFY2(f.is_ok(), f.status().to_string().c_str());
    auto b = (*f)->tensor("b");
    QVERIFY(b.is_ok());
    QCOMPARE(b->data_ptr<float>()[0], 1.5f);
    QCOMPARE(b->data_ptr<float>()[1], -2.0f);
  }

  void shardedCheckpointRoundTrip() {
    const fs::path ckpt = dir() / "ckpt";
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (int i = 0; i < 5; ++i)
      tensors.emplace_back("model.layers." + std::to_string(i) + ".mlp.up_proj.weight",
                           torch::randn({32, 16}).to(torch::kBFloat16));  // 1024 bytes each
    tensors.emplace_back("model.norm.weight", torch::ones({16}));
    st::SaveOptions options;
    options.max_shard_bytes = 2100;
    QVERIFY(st::save_checkpoint(ckpt, tensors, options).is_ok());
    QVERIFY(fs::exists(ckpt / "model.safetensors.index.json"));
    QVERIFY(fs::exists(ckpt / "model-00001-of-00003.safetensors"));
    QVERIFY(fs::exists(ckpt / "model-00003-of-00003.safetensors"));
    QVERIFY(!fs::exists(ckpt / "model.safetensors"));
    auto r = st::CheckpointReader::open(ckpt);
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QCOMPARE((*r)->names().size(), tensors.size());
    QCOMPARE((*r)->files().size(), size_t{3});
    QCOMPARE((*r)->metadata().at("total_size"), std::to_string(5 * 1024 + 64));
    for (const auto& [name, want] : tensors) {
      QVERIFY((*r)->has(name));
      QVERIFY(bit_equal(*(*r)->tensor(name), want));
      QCOMPARE((*r)->info(name)->dtype, want.scalar_type() == torch::kFloat ? st::DType::F32 : st::DType::BF16);
    }
    QVERIFY(bit_equal(*(*r)->tensor("model.norm.weight", torch::kBFloat16), torch::ones({16}).to(torch::kBFloat16)));

    // Saving again unsharded replaces the shards and the index.
    QVERIFY(st::save_checkpoint(ckpt, tensors).is_ok());
    QVERIFY(fs::exists(ckpt / "model.safetensors"));
    QVERIFY(!fs::exists(ckpt / "model.safetensors.index.json"));
    QVERIFY(!fs::exists(ckpt / "model-00001-of-00003.safetensors"));
    r = st::CheckpointReader::open(ckpt);
    QVERIFY(r.is_ok());
    QCOMPARE((*r)->files().size(), size_t{1});
    QVERIFY(st::CheckpointReader::open(ckpt / "model.safetensors").is_ok());
    QVERIFY(!st::CheckpointReader::open(dir() / "no-such-dir").is_ok());
  }

  void badIndexFilesAreReported() {
    const fs::path ckpt = dir() / "badindex";
    fs::create_directories(ckpt);
    QVERIFY(st::save_safetensors_file(ckpt / "model-00001-of-00001.safetensors", {{"a", torch::ones({2})}}, {}).is_ok());
    auto check = [&](const std::string& index, const std::string& needle) {
      write_bytes(ckpt / "model.safetensors.index.json", index);
      auto r = st::CheckpointReader::open(ckpt);
      QVERIFY(!r.is_ok());
      QVERIFY2(r.status().message().find(needle) != std::string::npos, r.status().message().c_str());
      QVERIFY2(r.status().message().find("model.safetensors.index.json") != std::string::npos, r.status().message().c_str());
    };
    check("{\"weight_map\":{\"a\":\"model-00002-of-00002.safetensors\"}}", "does not exist");
    check("{\"weight_map\":{\"b\":\"model-00001-of-00001.safetensors\"}}", "has no such tensor");
    check("{\"weight_map\":{\"a\":\"../x.safetensors\"}}", "not a file name");
    check("{\"metadata\":{}}", "weight_map");
    write_bytes(ckpt / "model.safetensors.index.json", "{\"weight_map\":{\"a\":\"model-00001-of-00001.safetensors\"}}");
    auto r = st::CheckpointReader::open(ckpt);
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QVERIFY(bit_equal(*(*r)->tensor("a"), torch::ones({2})));
  }

  void streamingWriterChecksDeclarations() {
    std::vector<st::TensorInfo> layout = {{"a", st::DType::BF16, {4, 4}}, {"b", st::DType::F32, {3}}};
    auto status = st::save_checkpoint(dir() / "stream", layout, [](const st::TensorInfo& t) -> Result<at::Tensor> {
      if (t.name == "b") return torch::zeros({4});  // wrong shape
      return torch::zeros({4, 4}, torch::kBFloat16);
    });
    QVERIFY(!status.is_ok());
    QVERIFY2(status.message().find("'b'") != std::string::npos, status.message().c_str());
    QVERIFY(!fs::exists(dir() / "stream" / "model.safetensors"));  // atomic: nothing half-written
    status = st::save_checkpoint(dir() / "stream", layout, [](const st::TensorInfo& t) -> Result<at::Tensor> {
      return torch::full(t.shape, 2.0, torch::TensorOptions().dtype(*st::to_scalar_type(t.dtype)));
    });
    QVERIFY2(status.is_ok(), status.to_string().c_str());
    auto r = st::CheckpointReader::open(dir() / "stream");
    QVERIFY(r.is_ok());
    QCOMPARE((*r)->tensor("a", torch::kFloat)->sum().item<float>(), 32.0f);
    QVERIFY(!st::save_safetensors_file(dir() / "dup.safetensors", {{"x", torch::ones(1)}, {"x", torch::ones(1)}}, {}).is_ok());
  }

  void fuzzedFilesNeverCrash() {
    const fs::path good = dir() / "fuzz-src.safetensors";
    QVERIFY(st::save_safetensors_file(good, expected_tensors(), kPyMetadata).is_ok());
    const std::string original = read_bytes(good);
    const size_t header_end = 8 + (static_cast<uint8_t>(original[0]) | (static_cast<uint8_t>(original[1]) << 8));
    std::mt19937 rng(1234);
    int opened = 0, rejected = 0;
    const fs::path p = dir() / "fuzz.safetensors";
    const char* interesting = "{}[]\",:0123456789-e. ";
    for (int iter = 0; iter < 600; ++iter) {
      std::string bytes = original;
      const int mode = iter % 4;
      if (mode == 0) {  // truncate anywhere
        bytes.resize(rng() % bytes.size());
      } else {  // flip or replace 1-4 bytes, mostly in the length prefix and header
        const int n = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < n; ++k) {
          const size_t pos = (mode == 3) ? rng() % bytes.size() : rng() % header_end;
          if (mode == 1) bytes[pos] = static_cast<char>(bytes[pos] ^ (1u << (rng() % 8)));
          else bytes[pos] = interesting[rng() % std::strlen(interesting)];
        }
      }
      write_bytes(p, bytes);
      auto f = st::SafetensorsFile::open(p);
      if (!f.is_ok()) {
        QVERIFY(!f.status().message().empty());
        ++rejected;
        continue;
      }
      ++opened;
      for (const auto& info : (*f)->tensors()) {
        auto t = (*f)->tensor(info.name);
        if (t.is_ok()) {
          QCOMPARE(t->numel(), info.numel());
          QCOMPARE(static_cast<uint64_t>(t->numel() * t->element_size()), info.nbytes());
          (void)t->sum();  // touch every byte
        }
        (void)(*f)->tensor(info.name, torch::kFloat);
      }
    }
    qInfo("fuzz: %d mutated files opened, %d rejected", opened, rejected);
    QVERIFY(rejected > 100);
  }

  void readsFileWrittenByIndependentPythonWriter() {
    const QString py = python_with_torch();
    if (py.isEmpty()) QSKIP("/usr/bin/python3 with torch (python3-torch) is not installed");
    const QString script = kanana::test::source_dir() + "/tests/safetensors/st_reference.py";
    const fs::path p = dir() / "from_python.safetensors";
    QProcess proc;
    proc.start(py, {script, "write", QString::fromStdString(p.string())});
    QVERIFY(proc.waitForFinished(120000));
    QVERIFY2(proc.exitCode() == 0, proc.readAllStandardError().constData());
    auto f = st::SafetensorsFile::open(p);
    QVERIFY2(f.is_ok(), f.status().to_string().c_str());
    QCOMPARE((*f)->metadata(), kPyMetadata);
    for (const auto& [name, want] : expected_tensors()) {
      auto got = (*f)->tensor(name);
      QVERIFY2(got.is_ok(), got.status().to_string().c_str());
      QVERIFY2(bit_equal(*got, want), name.c_str());
    }
    // Both writers follow the reference layout, so the files are byte-identical.
    const fs::path ours = dir() / "from_cpp_same.safetensors";
    QVERIFY(st::save_safetensors_file(ours, expected_tensors(), kPyMetadata).is_ok());
    QVERIFY(read_bytes(ours) == read_bytes(p));
  }

  void pythonParsesFileWrittenByCpp() {
    const QString py = python_with_torch();
    if (py.isEmpty()) QSKIP("/usr/bin/python3 with torch (python3-torch) is not installed");
    const QString script = kanana::test::source_dir() + "/tests/safetensors/st_reference.py";
    const fs::path p = dir() / "from_cpp.safetensors";
    QVERIFY(st::save_safetensors_file(p, expected_tensors(), kPyMetadata).is_ok());
    QProcess proc;
    proc.setProcessChannelMode(QProcess::MergedChannels);
    proc.start(py, {script, "check", QString::fromStdString(p.string())});
    QVERIFY(proc.waitForFinished(120000));
    const QByteArray out = proc.readAll();
    QVERIFY2(proc.exitCode() == 0, out.constData());
    QVERIFY2(out.contains("checked 12 tensors"), out.constData());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
