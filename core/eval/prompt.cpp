// Templates, few-shot sampling and lm-eval request splitting (see prompt.h).
#include "eval/prompt.h"

#include <algorithm>
#include <numeric>

#include "base/strings.h"

namespace kanana::eval {

uint64_t mix_seed(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::vector<std::string> labels_for(size_t n, const std::vector<std::string>& labels) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    if (i < labels.size()) {
      out.push_back(labels[i]);
    } else {
      out.push_back(i < 26 ? std::string(1, char('A' + i)) : std::to_string(i + 1));
    }
  }
  return out;
}

std::string options_block(const std::vector<std::string>& options, const std::vector<std::string>& labels) {
  const auto l = labels_for(options.size(), labels);
  std::string out;
  for (size_t i = 0; i < options.size(); ++i) {
    if (i) out += "\n";
    out += l[i] + ". " + options[i];
  }
  return out;
}

namespace {

std::string value_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

}  // namespace

Result<std::string> render_template(const std::string& tmpl, const Json& doc, const std::vector<std::string>& options,
                                    const std::vector<std::string>& labels, const std::string& origin) {
  std::string out;
  out.reserve(tmpl.size() + 64);
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if (c == '{' && i + 1 < tmpl.size() && tmpl[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    if (c == '}' && i + 1 < tmpl.size() && tmpl[i + 1] == '}') {
      out += '}';
      ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    const size_t close = tmpl.find('}', i + 1);
    if (close == std::string::npos) return invalid_argument(origin + ": template has an unclosed '{': " + tmpl);
    std::string expr = tmpl.substr(i + 1, close - i - 1);
    i = close;
    bool do_trim = false;
    if (const size_t bar = expr.find('|'); bar != std::string::npos) {
      const std::string filter(trim(expr.substr(bar + 1)));
      if (filter != "trim") return invalid_argument(origin + ": template filter '|" + filter + "' is unknown (only |trim)");
      do_trim = true;
      expr = std::string(trim(expr.substr(0, bar)));
    }
    std::string value;
    if (expr == "options") {
      value = options_block(options, labels);
    } else {
      std::string name = expr;
      std::optional<size_t> index;
      if (const size_t lb = expr.find('['); lb != std::string::npos && expr.back() == ']') {
        name = expr.substr(0, lb);
        const std::string idx = expr.substr(lb + 1, expr.size() - lb - 2);
        if (idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos) {
          return invalid_argument(origin + ": template placeholder '{" + expr + "}' has a bad index");
        }
        index = std::stoul(idx);
      }
      if (!doc.is_object() || !doc.contains(name) || doc[name].is_null()) {
        return invalid_argument(origin + ": field '" + name + "' is missing (used by the prompt template)");
      }
      const Json& v = doc[name];
      if (index) {
        if (!v.is_array()) return invalid_argument(origin + ": field '" + name + "' must be a list (template uses " + expr + ")");
        if (*index >= v.size()) {
          return invalid_argument(origin + ": field '" + name + "' has " + std::to_string(v.size()) +
                                  " entries; the template uses " + expr);
        }
        value = value_text(v[*index]);
      } else {
        value = value_text(v);
      }
    }
    if (do_trim) value = std::string(trim(value));
    out += value;
  }
  return out;
}

std::vector<const TaskItem*> FewshotSampler::sample(const TaskItem& item, int k) const {
  std::vector<const TaskItem*> out;
  if (k <= 0 || !pool_ || pool_->empty()) return out;
  // Partial Fisher-Yates over the pool's indices with a generator seeded by (seed, doc_id):
  // the same item gets the same shots on every run and with any --limit.
  std::vector<size_t> idx(pool_->size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  uint64_t state = mix_seed(seed_, uint64_t(item.doc_id));
  for (size_t i = 0; i < idx.size() && int(out.size()) < k; ++i) {
    state = mix_seed(state, i);
    const size_t j = i + size_t(state % uint64_t(idx.size() - i));
    std::swap(idx[i], idx[j]);
    const TaskItem& shot = (*pool_)[idx[i]];
    if (same_file_ && shot.line == item.line) continue;
    out.push_back(&shot);
  }
  return out;
}

std::string shot_target(const TaskSpec& spec, const TaskItem& shot) {
  if (spec.type == TaskType::kMultipleChoice && shot.gold >= 0 && size_t(shot.gold) < shot.continuations.size()) {
    return shot.continuations[size_t(shot.gold)];
  }
  return shot.target;
}

std::string build_context(const TaskSpec& spec, const TaskItem& item, const std::vector<const TaskItem*>& shots) {
  std::string out = item.description;
  for (const TaskItem* s : shots) {
    out += s->text + spec.target_delimiter + shot_target(spec, *s) + spec.fewshot_delimiter;
  }
  out += item.text;
  return out;
}

std::pair<std::string, std::string> split_request(const std::string& context, const std::string& continuation) {
  size_t end = context.size();
  while (end > 0 && (context[end - 1] == ' ' || context[end - 1] == '\t' || context[end - 1] == '\n' ||
                     context[end - 1] == '\r' || context[end - 1] == '\v' || context[end - 1] == '\f')) {
    --end;
  }
  return {context.substr(0, end), context.substr(end) + continuation};
}

}  // namespace kanana::eval
