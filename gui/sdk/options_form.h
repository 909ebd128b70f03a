// A form generated from option tables (core/base/options.h): one widget per field — a check
// box for flags, a spin box for integers, a line edit for numbers and text, a combo box for
// enumerations, a line edit with a "…" picker for paths — with the field's help as tooltip,
// the table's default shown, and the table's own validation message next to the widget.
// One group box per table (a "section"), each bound to a block of a JSON document: the top
// level, "optimizer", "dpo.online", ...
//
// The form edits a JSON document (kept in key order): a widget change writes its key into
// the block and emits documentEdited(); every other key — those of no table, whole blocks the
// form does not show — is kept as it was. setDocument() updates the widgets from a document
// without emitting, so a JSON text editor and the form stay in sync both ways.
//
// Generic over the option struct: optionSection<T>(table) turns any OptionTable<T> into a
// section (the checks call the table's read_options on the one field), so every page that
// has a table gets a form. GUI thread only.
#pragma once

#include <QHash>
#include <QString>
#include <QWidget>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/options.h"

class QLabel;
class QVBoxLayout;

namespace kanana::gui {

using OrderedJson = nlohmann::ordered_json;

// One field of a table, without its struct type.
struct FormField {
  enum class Kind { kBool, kInt, kNumber, kString, kChoice, kPath, kStringList, kPathList, kJson };
  std::string key;
  Kind kind = Kind::kString;
  std::string help;
  std::string note;
  std::optional<double> min, max;
  std::vector<std::string> choices;
  Json defaultValue;  // the struct's default, as the table writes it
  bool required = false;
  // The table's message for a value of this field ("must be >= 1"), empty when it is fine.
  std::function<std::string(const Json& value)> check;
};

struct FormSection {
  QString title;
  std::vector<std::string> block;  // keys from the document's root to the block; {} = the root
  std::vector<FormField> fields;
};

namespace options_form_detail {
template <class T>
FormField::Kind kindOf(const OptionField<T>& f, const Json& def) {
  using K = FormField::Kind;
  if (!f.choices.empty()) return K::kChoice;
  return std::visit(
      [&](auto&& m) -> K {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, bool T::*>) return K::kBool;
        else if constexpr (std::is_same_v<M, int64_t T::*>) return K::kInt;
        else if constexpr (std::is_same_v<M, double T::*>) return K::kNumber;
        else if constexpr (std::is_same_v<M, std::string T::*>) return K::kString;
        else if constexpr (std::is_same_v<M, std::filesystem::path T::*>) return K::kPath;
        else if constexpr (std::is_same_v<M, std::vector<std::string> T::*>) return K::kStringList;
        else if constexpr (std::is_same_v<M, std::vector<std::filesystem::path> T::*>) return K::kPathList;
        else {  // a custom member: what its default looks like
          if (def.is_boolean()) return K::kBool;
          if (def.is_number_integer()) return K::kJson;  // may exceed a spin box (seeds)
          if (def.is_number()) return K::kNumber;
          if (def.is_string()) return K::kString;
          return K::kJson;
        }
      },
      f.member);
}
// "origin: field 'a.b' must be >= 1" → "must be >= 1".
std::string stripFieldPrefix(const std::string& message);
}  // namespace options_form_detail

// A section for `table`, its defaults taken from `defaults`.
template <class T>
FormSection optionSection(const QString& title, std::vector<std::string> block, const OptionTable<T>& table,
                          const T& defaults = T{}) {
  FormSection s;
  s.title = title;
  s.block = std::move(block);
  for (const OptionField<T>& f : table) {
    FormField out;
    out.key = f.key;
    out.help = f.help;
    out.note = f.note;
    out.min = f.min;
    out.max = f.max;
    out.choices = f.choices;
    out.required = f.required;
    out.defaultValue = option_to_json(f, defaults);
    out.kind = options_form_detail::kindOf(f, out.defaultValue);
    out.check = [one = OptionTable<T>{f}, defaults, key = std::string(f.key)](const Json& value) {
      T scratch = defaults;
      const Json block = Json{{key, value}};
      const Status st = read_options(JsonReader(block, "form"), one, scratch, {}, /*reject_unknown=*/false);
      return st.is_ok() ? std::string() : options_form_detail::stripFieldPrefix(st.message());
    };
    s.fields.push_back(std::move(out));
  }
  return s;
}

class OptionsForm : public QWidget {
  Q_OBJECT
 public:
  explicit OptionsForm(QWidget* parent = nullptr);

  // Rebuilds the widgets (the document stays).
  void setSections(std::vector<FormSection> sections);
  const std::vector<FormSection>& sections() const { return sections_; }

  // Shows `document` (no documentEdited). A block that is not an object shows defaults.
  void setDocument(const OrderedJson& document);
  const OrderedJson& document() const { return document_; }

  // "optimizer.beta1" → its widget / its current message ("" when valid); nullptr / "" when unknown.
  QWidget* fieldWidget(const QString& path) const;
  QString fieldError(const QString& path) const;
  // Fields whose value the table refuses right now.
  QStringList invalidFields() const;

 Q_SIGNALS:
  // A widget changed the document (document() has the new value).
  void documentEdited();

 private:
  struct Row {
    const FormSection* section = nullptr;
    const FormField* field = nullptr;
    QWidget* editor = nullptr;
    QLabel* error = nullptr;
  };
  QWidget* makeEditor(Row& row);
  void showValue(Row& row);
  // A widget's value as JSON; nullopt when the widget is empty (the key is removed) and
  // *parseError says why when the text is not a value of the field's kind.
  std::optional<Json> editorValue(const Row& row, std::string* parseError) const;
  void onEdited(const QString& path);
  void setError(Row& row, const std::string& message);
  const OrderedJson* blockOf(const FormSection& s) const;
  OrderedJson& makeBlock(const FormSection& s);

  std::vector<FormSection> sections_;
  OrderedJson document_ = OrderedJson::object();
  QHash<QString, Row> rows_;  // by path
  QStringList order_;
  QVBoxLayout* layout_;
  bool showing_ = false;
};

}  // namespace kanana::gui
