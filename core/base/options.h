// Options as plain structs with their defaults written once, in the struct, and a field table
// that says everything else about them once: the JSON key (also the CLI flag, with '-' for
// '_'), the member, help, and validation. From the table come
//   - reading a JSON block with typed values, range checks and unknown-key errors that name
//     the file and the field path (read_options);
//   - the resolved block with every default filled in, saved with each run (options_to_json);
//   - the CLI flags with their --help defaults (cli/option_flags.h) and GUI forms
//     (gui/sdk/options_form.h).
//
//   struct DistillOptions { double temperature = 1.0; double alpha = 0.0; int64_t top_k = 0; };
//   const OptionTable<DistillOptions>& distill_fields() {
//     static const OptionTable<DistillOptions> t = {
//         {.key = "temperature", .member = &DistillOptions::temperature, .help = "softmax temperature T",
//          .min = 0, .min_open = true},
//         {.key = "alpha", .member = &DistillOptions::alpha, .help = "weight of the LM loss", .min = 0, .max = 1},
//         {.key = "top_k", .member = &DistillOptions::top_k, .help = "teacher logits kept", .min = 0,
//          .note = "0 = every logit"}};
//     return t;
//   }
//
// Torch-free and Qt-free: recipe checks in the GUI and the CLI's flags use the same tables as
// the trainer.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace kanana {

// A member that is not a plain value (an enum, a value stored in another form): read from and
// written to JSON by two functions. `set` returns an empty string or what is wrong with the
// value ("is 'x'; expected a or b" — the field path is prepended).
template <class T>
struct CustomMember {
  std::function<std::string(T&, const Json&)> set;
  std::function<Json(const T&)> get;
};

template <class T>
struct OptionField {
  using Member = std::variant<bool T::*, int64_t T::*, double T::*, std::string T::*, std::filesystem::path T::*,
                              std::vector<std::string> T::*, std::vector<std::filesystem::path> T::*,
                              CustomMember<T>>;
  const char* key = "";
  Member member;
  const char* help = "";
  // Numbers: the allowed range, each end closed unless marked open.
  std::optional<double> min, max;
  bool min_open = false, max_open = false;
  // Strings: the allowed values (empty = any).
  std::vector<std::string> choices;
  // Appended to a range error in parentheses: "must be >= 0 (0 = no clipping)".
  const char* note = "";
  bool required = false;
  // Paths: relative values are resolved against the folder of the file they came from.
  bool relative_to_file = true;
  const char* value_name = "";  // for --help ("N", "FILE"); derived from the type when empty
};

template <class T>
using OptionTable = std::vector<OptionField<T>>;

namespace options_detail {
// "must be >= 1", "must be in (0, 1]", ... (empty when the value is within the range).
std::string range_error(double value, const std::optional<double>& min, const std::optional<double>& max,
                        bool min_open, bool max_open, const char* note);
std::string choices_error(const std::string& value, const std::vector<std::string>& choices);
std::string format_number(double v);
// A pointer to a member of a base B is a pointer to that member of any D derived from B.
template <class D, class V, class B>
V D::*as_derived(V B::*member) {
  return member;
}
}  // namespace options_detail

// The validation message for one value of `field` ("" when it is fine). Used by the JSON
// reader, the CLI flag reader and GUI forms alike.
template <class T>
std::string check_option_value(const OptionField<T>& field, const T& value) {
  return std::visit(
      [&](auto&& m) -> std::string {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, int64_t T::*> || std::is_same_v<M, double T::*>) {
          const double v = static_cast<double>(value.*m);
          if constexpr (std::is_same_v<M, double T::*>)
            if (!std::isfinite(v)) return "must be a finite number";
          return options_detail::range_error(v, field.min, field.max, field.min_open, field.max_open, field.note);
        } else if constexpr (std::is_same_v<M, std::string T::*>) {
          return options_detail::choices_error(value.*m, field.choices);
        } else {
          return std::string();
        }
      },
      field.member);
}

// Reads the fields present in `block` into `out` (absent ones keep the struct's defaults),
// checks every value, and with `reject_unknown` refuses keys outside the table and `extra_keys`.
// `base_dir` resolves relative paths (empty: left as given).
template <class T>
Status read_options(const JsonReader& block, const OptionTable<T>& fields, T& out,
                    const std::filesystem::path& base_dir = {}, bool reject_unknown = true,
                    const std::vector<std::string>& extra_keys = {}) {
  const Json& json = block.json();
  if (!json.is_object()) return invalid_argument("options must be a JSON object");
  if (reject_unknown) {
    for (const auto& [key, value] : json.items()) {
      bool known = false;
      for (const auto& f : fields) known |= key == f.key;
      for (const auto& k : extra_keys) known |= key == k;
      if (!known) {
        std::string names;
        for (const auto& f : fields) names += (names.empty() ? "" : ", ") + std::string(f.key);
        return block.field_error(key, "is not a known field (known: " + names + ")");
      }
    }
  }
  for (const auto& f : fields) {
    if (!json.contains(f.key)) {
      if (f.required) return block.field_error(f.key, std::string("is required (") + f.help + ")");
      continue;
    }
    const Json& v = json[f.key];
    Status st = std::visit(
        [&](auto&& m) -> Status {
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, bool T::*>) {
            KANANA_ASSIGN_OR_RETURN(out.*m, block.get_bool(f.key));
          } else if constexpr (std::is_same_v<M, int64_t T::*>) {
            KANANA_ASSIGN_OR_RETURN(out.*m, block.get_int(f.key));
          } else if constexpr (std::is_same_v<M, double T::*>) {
            KANANA_ASSIGN_OR_RETURN(out.*m, block.get_number(f.key));
          } else if constexpr (std::is_same_v<M, std::string T::*>) {
            KANANA_ASSIGN_OR_RETURN(out.*m, block.get_string(f.key));
          } else if constexpr (std::is_same_v<M, std::filesystem::path T::*>) {
            KANANA_ASSIGN_OR_RETURN(std::string s, block.get_string(f.key));
            if (s.empty()) return block.field_error(f.key, "is empty");
            std::filesystem::path p(s);
            out.*m = (p.is_relative() && f.relative_to_file && !base_dir.empty()) ? base_dir / p : p;
          } else if constexpr (std::is_same_v<M, std::vector<std::string> T::*> ||
                               std::is_same_v<M, std::vector<std::filesystem::path> T::*>) {
            // One string or an array of strings; paths resolve like single paths.
            std::vector<std::string> list;
            if (v.is_string()) {
              list.push_back(v.template get<std::string>());
            } else if (v.is_array()) {
              for (const auto& e : v) {
                if (!e.is_string()) return block.field_error(f.key, "must be a string or an array of strings");
                list.push_back(e.template get<std::string>());
              }
            } else {
              return block.field_error(f.key, "must be a string or an array of strings, got " + v.dump());
            }
            if (f.required && list.empty()) return block.field_error(f.key, "must not be empty");
            if constexpr (std::is_same_v<M, std::vector<std::string> T::*>) {
              out.*m = std::move(list);
            } else {
              (out.*m).clear();
              for (const auto& s : list) {
                if (s.empty()) return block.field_error(f.key, "has an empty path");
                std::filesystem::path p(s);
                (out.*m).push_back((p.is_relative() && f.relative_to_file && !base_dir.empty()) ? base_dir / p : p);
              }
            }
          } else {
            const std::string why = m.set(out, v);
            if (!why.empty()) return block.field_error(f.key, why);
          }
          return Status::ok();
        },
        f.member);
    KANANA_RETURN_IF_ERROR(st);
    if (std::string why = check_option_value(f, out); !why.empty()) return block.field_error(f.key, why);
  }
  return Status::ok();
}

// Every value of `value` against the table, for options that did not come through
// read_options (set in code or a GUI form): "<origin>: field 'top_p' must be in (0, 1], got 0".
template <class T>
Status check_options(const T& value, const OptionTable<T>& fields, const std::string& origin) {
  for (const auto& f : fields)
    if (std::string why = check_option_value(f, value); !why.empty())
      return invalid_argument(origin + ": field '" + f.key + "' " + why);
  return Status::ok();
}

// The table of a base struct B as a table of a struct D derived from it (only the fields named
// in `keys`, when given): B's member pointers are D's, so D's table is B's plus D's own fields,
// and every surface (JSON, flags, forms) sees one table with B's help and checks.
template <class D, class B>
OptionTable<D> derived_options(const OptionTable<B>& fields, const std::vector<std::string>& keys = {}) {
  static_assert(std::is_base_of_v<B, D>, "derived_options: D must derive from B");
  OptionTable<D> out;
  for (const auto& f : fields) {
    if (!keys.empty() && std::find(keys.begin(), keys.end(), f.key) == keys.end()) continue;
    OptionField<D> g;
    g.key = f.key;
    g.member = std::visit(
        [](auto&& m) -> typename OptionField<D>::Member {
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, CustomMember<B>>) {
            return CustomMember<D>{.set = [set = m.set](D& d, const Json& v) { return set(d, v); },
                                   .get = [get = m.get](const D& d) { return get(d); }};
          } else {
            return options_detail::as_derived<D>(m);
          }
        },
        f.member);
    g.help = f.help;
    g.min = f.min;
    g.max = f.max;
    g.min_open = f.min_open;
    g.max_open = f.max_open;
    g.choices = f.choices;
    g.note = f.note;
    g.required = f.required;
    g.relative_to_file = f.relative_to_file;
    g.value_name = f.value_name;
    out.push_back(std::move(g));
  }
  return out;
}

// The fields of `a` followed by those of `b` (a derived struct's table: its base's, then its own).
template <class T>
OptionTable<T> concat_options(OptionTable<T> a, const OptionTable<T>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The value of one field as JSON (paths as strings).
template <class T>
Json option_to_json(const OptionField<T>& f, const T& value) {
  return std::visit(
      [&](auto&& m) -> Json {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, std::filesystem::path T::*>) {
          return (value.*m).string();
        } else if constexpr (std::is_same_v<M, std::vector<std::filesystem::path> T::*>) {
          Json list = Json::array();
          for (const auto& p : value.*m) list.push_back(p.string());
          return list;
        } else if constexpr (std::is_same_v<M, CustomMember<T>>) {
          return m.get(value);
        } else {
          return Json(value.*m);
        }
      },
      f.member);
}

// Every field of `value` (defaults included): the resolved block a run saves.
template <class T>
Json options_to_json(const T& value, const OptionTable<T>& fields) {
  Json out = Json::object();
  for (const auto& f : fields) out[f.key] = option_to_json(f, value);
  return out;
}

}  // namespace kanana
