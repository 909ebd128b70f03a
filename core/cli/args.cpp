#include "cli/args.h"

#include <cstdlib>
#include <sstream>

namespace kanana::cli {

bool Args::has(const std::string& name) const {
  return values.count(name) > 0 || defaults.count(name) > 0;
}

bool Args::flag(const std::string& name) const {
  auto it = values.find(name);
  return it != values.end() && !it->second.empty() && it->second.back() != "false";
}

std::string Args::get(const std::string& name) const {
  if (auto it = values.find(name); it != values.end() && !it->second.empty()) return it->second.back();
  if (auto it = defaults.find(name); it != defaults.end()) return it->second;
  return {};
}

std::vector<std::string> Args::get_all(const std::string& name) const {
  if (auto it = values.find(name); it != values.end()) return it->second;
  if (auto it = defaults.find(name); it != defaults.end() && !it->second.empty()) return {it->second};
  return {};
}

Result<int64_t> Args::get_int(const std::string& name) const {
  const std::string v = get(name);
  if (v.empty()) return invalid_argument("--" + name + " needs an integer value");
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (errno != 0 || end == v.c_str() || *end != '\0')
    return invalid_argument("--" + name + ": '" + v + "' is not an integer");
  return static_cast<int64_t>(x);
}

Result<double> Args::get_double(const std::string& name) const {
  const std::string v = get(name);
  if (v.empty()) return invalid_argument("--" + name + " needs a number");
  char* end = nullptr;
  errno = 0;
  double x = std::strtod(v.c_str(), &end);
  if (errno != 0 || end == v.c_str() || *end != '\0')
    return invalid_argument("--" + name + ": '" + v + "' is not a number");
  return x;
}

Result<Args> parse_args(const std::vector<OptionSpec>& options, const PositionalSpec& positional,
                        const std::vector<std::string>& argv, bool* wants_help) {
  Args args;
  *wants_help = false;
  auto find = [&](const std::string& name) -> const OptionSpec* {
    for (const auto& o : options)
      if (o.name == name) return &o;
    return nullptr;
  };
  auto find_short = [&](char c) -> const OptionSpec* {
    for (const auto& o : options)
      if (o.short_name == c) return &o;
    return nullptr;
  };
  bool only_positional = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (only_positional || a.size() < 2 || a[0] != '-' || a == "-") {
      args.positional_.push_back(a);
      continue;
    }
    if (a == "--") { only_positional = true; continue; }
    if (a == "--help" || a == "-h") { *wants_help = true; return args; }
    const OptionSpec* spec = nullptr;
    std::string inline_value;
    bool has_inline = false;
    if (a[1] == '-') {
      std::string name = a.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_inline = true;
      }
      spec = find(name);
      if (!spec) return invalid_argument("unknown option --" + name);
    } else {
      if (a.size() != 2) return invalid_argument("unknown option " + a + " (long options take two dashes)");
      spec = find_short(a[1]);
      if (!spec) return invalid_argument("unknown option " + a);
    }
    if (spec->is_flag()) {
      if (has_inline) return invalid_argument("--" + spec->name + " takes no value");
      args.values[spec->name].push_back("true");
      continue;
    }
    std::string value;
    if (has_inline) {
      value = inline_value;
    } else {
      if (i + 1 >= argv.size()) return invalid_argument("--" + spec->name + " needs a value (" + spec->value_name + ")");
      value = argv[++i];
    }
    auto& slot = args.values[spec->name];
    if (!spec->repeated && !slot.empty())
      return invalid_argument("--" + spec->name + " given more than once");
    slot.push_back(value);
  }
  for (const auto& o : options) {
    if (args.values.count(o.name)) continue;
    if (!o.env.empty()) {
      if (const char* e = std::getenv(o.env.c_str()); e && *e) {
        args.values[o.name].push_back(e);
        continue;
      }
    }
    if (!o.default_value.empty()) args.defaults[o.name] = o.default_value;
    else if (o.required) return invalid_argument("missing required option --" + o.name);
  }
  const int n = static_cast<int>(args.positional_.size());
  if (n < positional.min_count)
    return invalid_argument(positional.name.empty() ? "missing arguments"
                                                    : "missing argument " + positional.name);
  if (positional.max_count >= 0 && n > positional.max_count)
    return invalid_argument("unexpected argument '" + args.positional_[static_cast<size_t>(positional.max_count)] + "'");
  return args;
}

std::string format_options_help(const std::vector<OptionSpec>& options) {
  std::ostringstream out;
  for (const auto& o : options) {
    std::string left = "  ";
    left += o.short_name ? std::string("-") + o.short_name + ", " : "    ";
    left += "--" + o.name;
    if (!o.is_flag()) left += " " + o.value_name;
    out << left;
    if (left.size() < 30) out << std::string(30 - left.size(), ' ');
    else out << "\n" << std::string(30, ' ');
    out << o.help;
    if (!o.default_value.empty()) out << " (default: " << o.default_value << ")";
    if (o.required) out << " (required)";
    if (!o.env.empty()) out << " [env " << o.env << "]";
    out << "\n";
  }
  out << "  -h, --help                  show this help\n";
  return out.str();
}

}  // namespace kanana::cli
