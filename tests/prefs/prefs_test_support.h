// Helpers shared by the prefs tests: status checks and a small annotation fixture.
#pragma once

#include <QtTest>

#include <filesystem>
#include <string>
#include <vector>

#include "base/json.h"
#include "prefs/pref_store.h"
#include "store/workspace.h"

#define EXPECT_OK(expr)                                        \
  do {                                                         \
    const auto& s_ = (expr);                                   \
    QVERIFY2(s_.is_ok(), s_.status().to_string().c_str());     \
  } while (0)
#define EXPECT_STATUS_OK(expr)                                 \
  do {                                                         \
    const ::kanana::Status s_ = (expr);                        \
    QVERIFY2(s_.is_ok(), s_.to_string().c_str());              \
  } while (0)

namespace kanana::test {

inline std::filesystem::path to_path(const QString& s) { return std::filesystem::path(s.toStdString()); }

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One chat message.
inline Json msg(const char* role, const std::string& content) { return Json{{"role", role}, {"content", content}}; }

inline Json user(const std::string& text) { return Json::array({Json{{"role", "user"}, {"content", text}}}); }

// Adds a candidate with a plain reply; returns its id (0 on failure, which the caller checks).
inline int64_t add_reply(prefs::PrefStore& store, int64_t prompt_id, const std::string& text,
                         std::optional<int64_t> checkpoint = std::nullopt, std::optional<int64_t> seed = std::nullopt) {
  store::CandidateRecord c;
  c.prompt_id = prompt_id;
  c.text = text;
  c.checkpoint_id = checkpoint;
  c.seed = seed;
  if (seed) c.sampling_json = Json{{"temperature", 0.8}, {"top_p", 0.95}}.dump();
  auto id = store.add_candidate(c);
  return id.is_ok() ? *id : 0;
}

inline std::vector<std::string> read_lines(const std::filesystem::path& file) {
  QFile f(QString::fromStdString(file.string()));
  std::vector<std::string> out;
  if (!f.open(QIODevice::ReadOnly)) return out;
  for (const QByteArray& line : f.readAll().split('\n'))
    if (!line.trimmed().isEmpty()) out.push_back(line.toStdString());
  return out;
}

inline void write_text(const std::filesystem::path& file, const std::string& text) {
  QFile f(QString::fromStdString(file.string()));
  f.open(QIODevice::WriteOnly | QIODevice::Truncate);
  f.write(text.data(), qint64(text.size()));
}

}  // namespace kanana::test
