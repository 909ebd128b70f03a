// Command-line flags from an option table (base/options.h): each field becomes
// --<key with '-' for '_'> with the table's help, the default shown in --help taken from a
// defaults struct (by default the struct's own), and reading them back applies the table's
// checks, with errors that name the flag. A boolean that defaults to true becomes --no-<key>.
//
//   .options = concat({...}, option_flags(posttrain::preference_eval_fields())),
//   ...
//   posttrain::PreferenceEvalOptions o;
//   if (Status s = read_option_flags(args, posttrain::preference_eval_fields(), o); !s.is_ok()) ...
#pragma once

#include <algorithm>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

#include "base/options.h"
#include "cli/args.h"

namespace kanana::cli {

inline std::string flag_name(const char* key) {
  std::string name = key;
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

namespace option_flags_detail {

template <class T>
bool wanted(const OptionField<T>& f, const std::vector<std::string>& keys) {
  return keys.empty() || std::find(keys.begin(), keys.end(), f.key) != keys.end();
}

template <class T>
bool is_bool(const OptionField<T>& f) {
  return std::holds_alternative<bool T::*>(f.member);
}

}  // namespace option_flags_detail

// The flags of `fields` (only those named in `keys`, when given).
template <class T>
std::vector<OptionSpec> option_flags(const OptionTable<T>& fields, const T& defaults = T{},
                                     const std::vector<std::string>& keys = {}) {
  std::vector<OptionSpec> out;
  for (const auto& f : fields) {
    if (!option_flags_detail::wanted(f, keys)) continue;
    OptionSpec spec;
    spec.name = flag_name(f.key);
    spec.help = f.help;
    if (!f.choices.empty()) {
      std::string list;
      for (const auto& c : f.choices) list += (list.empty() ? "" : " | ") + c;
      spec.help += " (" + list + ")";
    }
    if (option_flags_detail::is_bool(f)) {
      if (defaults.*std::get<bool T::*>(f.member)) spec.name = "no-" + spec.name;  // a switch that turns it off
      out.push_back(std::move(spec));
      continue;
    }
    const Json def = option_to_json(f, defaults);
    spec.value_name = *f.value_name ? f.value_name
                      : def.is_number_integer() ? "N"
                      : def.is_number()         ? "X"
                      : !f.choices.empty()      ? "NAME"
                                                : "VALUE";
    if (def.is_number()) {
      spec.default_value = options_detail::format_number(def.get<double>());
    } else if (def.is_string()) {
      spec.default_value = def.get<std::string>();
    }
    spec.repeated = def.is_array();
    spec.required = f.required;
    out.push_back(std::move(spec));
  }
  return out;
}

// Reads the flags of option_flags() into `out`: absent ones take the shown default (so `out`
// should start from the same defaults), every value passes the table's checks.
template <class T>
Status read_option_flags(const Args& args, const OptionTable<T>& fields, T& out,
                         const std::vector<std::string>& keys = {}) {
  for (const auto& f : fields) {
    if (!option_flags_detail::wanted(f, keys)) continue;
    const std::string name = flag_name(f.key);
    auto usage = [&](const std::string& why) { return invalid_argument("--" + name + " " + why); };
    Status st = std::visit(
        [&](auto&& m) -> Status {
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, bool T::*>) {
            if (args.flag(name)) out.*m = true;
            if (args.flag("no-" + name)) out.*m = false;
          } else if constexpr (std::is_same_v<M, int64_t T::*>) {
            if (!args.has(name) || args.get(name).empty()) return Status::ok();
            KANANA_ASSIGN_OR_RETURN(out.*m, args.get_int(name));
          } else if constexpr (std::is_same_v<M, double T::*>) {
            if (!args.has(name) || args.get(name).empty()) return Status::ok();
            KANANA_ASSIGN_OR_RETURN(out.*m, args.get_double(name));
          } else if constexpr (std::is_same_v<M, std::string T::*>) {
            if (args.has(name)) out.*m = args.get(name);
          } else if constexpr (std::is_same_v<M, std::filesystem::path T::*>) {
            if (args.has(name)) out.*m = args.get(name);
          } else if constexpr (std::is_same_v<M, std::vector<std::string> T::*>) {
            if (args.has(name)) out.*m = args.get_all(name);
          } else if constexpr (std::is_same_v<M, std::vector<std::filesystem::path> T::*>) {
            if (args.has(name)) {
              (out.*m).clear();
              for (const auto& v : args.get_all(name)) (out.*m).push_back(v);
            }
          } else {
            if (!args.has(name)) return Status::ok();
            const std::string text = args.get(name);
            Json value = text;
            char* end = nullptr;
            const double number = std::strtod(text.c_str(), &end);
            if (!text.empty() && end && *end == '\0') value = number;
            const std::string why = m.set(out, value);
            if (!why.empty()) return usage(why);
          }
          return Status::ok();
        },
        f.member);
    KANANA_RETURN_IF_ERROR(st);
    if (std::string why = check_option_value(f, out); !why.empty()) return usage(why);
  }
  return Status::ok();
}

}  // namespace kanana::cli
