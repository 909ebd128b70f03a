// Checkpoint helpers of resumable corpus jobs; see partial_file.h.
#include "data/partial_file.h"

#include <map>
#include <stdexcept>

namespace kanana::data {
namespace {

std::string short_json(const Json& j) {
  if (j.is_string()) return "'" + j.get<std::string>() + "'";
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

// What a file was when the run started: a resumed run must see the same bytes.
Json file_identity(const fs::path& path) {
  if (path.empty()) return "";
  std::error_code ec;
  Json j = {{"path", fs::absolute(path, ec).lexically_normal().string()}};
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    j["size"] = static_cast<uint64_t>(st.st_size);
    j["mtime_ns"] = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }
  return j;
}


// Differences between the options of the interrupted run and this one, as readable lines.
void diff_options(const Json& was, const Json& now, const std::string& prefix, std::vector<std::string>* out) {
  if (was.is_object() && now.is_object()) {
    std::map<std::string, int> keys;
    for (auto it = was.begin(); it != was.end(); ++it) keys[it.key()] |= 1;
    for (auto it = now.begin(); it != now.end(); ++it) keys[it.key()] |= 2;
    for (const auto& [k, which] : keys) {
      const std::string name = prefix.empty() ? k : prefix + "." + k;
      if (which != 3) out->push_back("option " + name + (which == 1 ? " was set and is not now" : " is new"));
      else diff_options(was[k], now[k], name, out);
    }
    return;
  }
  if (was != now) out->push_back("option " + prefix + " was " + short_json(was) + ", now " + short_json(now));
}

// Doubles go into the checkpoint as their bit patterns, so sums resume bit-exact (NaN too).
Json doubles_to_bits(const std::vector<double>& v) {
  Json a = Json::array();
  for (double d : v) {
    uint64_t u;
    std::memcpy(&u, &d, 8);
    a.push_back(u);
  }
  return a;
}
std::vector<double> bits_to_doubles(const Json& a, size_t n) {
  std::vector<double> v;
  for (const auto& e : a) {
    const uint64_t u = e.get<uint64_t>();
    double d;
    std::memcpy(&d, &u, 8);
    v.push_back(d);
  }
  if (v.size() != n) throw std::runtime_error("expected " + std::to_string(n) + " signal sums, found " + std::to_string(v.size()));
  return v;
}

}  // namespace kanana::data
