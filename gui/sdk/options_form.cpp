// See options_form.h.
#include "base/json.h"
#include "sdk/options_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <climits>

namespace kanana::gui {

namespace options_form_detail {
std::string stripFieldPrefix(const std::string& message) {
  const auto at = message.find("field '");
  if (at == std::string::npos) return message;
  const auto end = message.find("' ", at + 7);
  return end == std::string::npos ? message : message.substr(end + 2);
}
}  // namespace options_form_detail

namespace {

using Kind = FormField::Kind;

QString qs(const std::string& s) { return QString::fromStdString(s); }

QString pathOf(const FormSection& s, const FormField& f) {
  QStringList parts;
  for (const auto& b : s.block) parts << qs(b);
  parts << qs(f.key);
  return parts.join(QLatin1Char('.'));
}

// How a value shows in a line edit: strings bare, lists joined by "; ", numbers and the rest as JSON.
QString displayText(const Json& v) {
  if (v.is_null()) return {};
  if (v.is_string()) return qs(v.get<std::string>());
  if (v.is_array() && std::all_of(v.begin(), v.end(), [](const Json& e) { return e.is_string(); })) {
    QStringList items;
    for (const auto& e : v) items << qs(e.get<std::string>());
    return items.join(QStringLiteral("; "));
  }
  return qs(v.dump());
}

QString tooltipOf(const FormField& f) {
  QString t = qs(f.help);
  if (!f.note.empty()) t += QStringLiteral(" (") + qs(f.note) + QLatin1Char(')');
  if (!f.defaultValue.is_null() && !(f.defaultValue.is_string() && f.defaultValue.get<std::string>().empty()) &&
      !(f.defaultValue.is_array() && f.defaultValue.empty()))
    t += QStringLiteral("\nDefault: ") + displayText(f.defaultValue);
  if (f.required) t += QStringLiteral("\nRequired.");
  return t;
}

}  // namespace

OptionsForm::OptionsForm(QWidget* parent) : QWidget(parent), layout_(new QVBoxLayout(this)) {
  layout_->setContentsMargins(0, 0, 0, 0);
}

void OptionsForm::setSections(std::vector<FormSection> sections) {
  rows_.clear();
  order_.clear();
  while (QLayoutItem* item = layout_->takeAt(0)) {
    delete item->widget();
    delete item;
  }
  sections_ = std::move(sections);
  for (const FormSection& s : sections_) {
    auto* box = new QGroupBox(s.title, this);
    auto* form = new QFormLayout(box);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    for (const FormField& f : s.fields) {
      Row row;
      row.section = &s;
      row.field = &f;
      const QString path = pathOf(s, f);
      auto* cell = new QWidget(box);
      auto* cellLayout = new QVBoxLayout(cell);
      cellLayout->setContentsMargins(0, 0, 0, 0);
      cellLayout->setSpacing(1);
      row.editor = makeEditor(row);
      row.editor->setParent(cell);
      row.editor->setObjectName(path);
      row.editor->setToolTip(tooltipOf(f));
      row.error = new QLabel(cell);
      row.error->setObjectName(path + QStringLiteral(".error"));
      row.error->setStyleSheet(QStringLiteral("color: #c03030;"));
      row.error->setWordWrap(true);
      row.error->hide();
      cellLayout->addWidget(row.editor);
      cellLayout->addWidget(row.error);
      auto* label = new QLabel(qs(f.key) + (f.required ? QStringLiteral(" *") : QString()), box);
      label->setToolTip(tooltipOf(f));
      form->addRow(label, cell);
      rows_.insert(path, row);
      order_ << path;
    }
    layout_->addWidget(box);
  }
  layout_->addStretch(1);
  setDocument(document_);
}

QWidget* OptionsForm::makeEditor(Row& row) {
  const FormField& f = *row.field;
  const QString path = pathOf(*row.section, f);
  auto edited = [this, path] { onEdited(path); };
  switch (f.kind) {
    case Kind::kBool: {
      auto* c = new QCheckBox;
      connect(c, &QCheckBox::toggled, this, edited);
      return c;
    }
    case Kind::kInt: {
      // The table's range is not the spin box's: a value out of range (typed in the JSON)
      // must show as it is, with the table's message, not clamped.
      auto* s = new QSpinBox;
      s->setRange(INT_MIN + 1, INT_MAX);
      s->setAccelerated(true);
      connect(s, &QSpinBox::valueChanged, this, edited);
      return s;
    }
    case Kind::kChoice: {
      auto* c = new QComboBox;
      for (const auto& choice : f.choices) c->addItem(qs(choice));
      connect(c, &QComboBox::currentIndexChanged, this, edited);
      return c;
    }
    case Kind::kPath:
    case Kind::kPathList: {
      auto* w = new QWidget;
      auto* l = new QHBoxLayout(w);
      l->setContentsMargins(0, 0, 0, 0);
      auto* e = new QLineEdit(w);
      e->setObjectName(QStringLiteral("text"));
      auto* pick = new QToolButton(w);
      pick->setText(QStringLiteral("…"));
      pick->setToolTip(tr("Pick a file or a folder"));
      pick->setPopupMode(QToolButton::InstantPopup);
      auto* menu = new QMenu(pick);
      const bool list = f.kind == Kind::kPathList;
      auto put = [this, e, list, edited](const QString& chosen) {
        if (chosen.isEmpty()) return;
        e->setText(list && !e->text().trimmed().isEmpty() ? e->text() + QStringLiteral("; ") + chosen : chosen);
        edited();
      };
      connect(menu->addAction(tr("File…")), &QAction::triggered, this,
              [this, put] { put(QFileDialog::getOpenFileName(this, tr("Choose a file"))); });
      connect(menu->addAction(tr("Folder…")), &QAction::triggered, this,
              [this, put] { put(QFileDialog::getExistingDirectory(this, tr("Choose a folder"))); });
      pick->setMenu(menu);
      l->addWidget(e, 1);
      l->addWidget(pick);
      connect(e, &QLineEdit::textEdited, this, edited);
      return w;
    }
    default: {
      auto* e = new QLineEdit;
      connect(e, &QLineEdit::textEdited, this, edited);
      return e;
    }
  }
}

static QLineEdit* lineEditOf(QWidget* editor) {
  if (auto* e = qobject_cast<QLineEdit*>(editor)) return e;
  return editor->findChild<QLineEdit*>(QStringLiteral("text"));
}

const OrderedJson* OptionsForm::blockOf(const FormSection& s) const {
  const OrderedJson* at = &document_;
  for (const auto& key : s.block) {
    if (!at->is_object() || !at->contains(key)) return nullptr;
    at = &(*at)[key];
  }
  return at->is_object() ? at : nullptr;
}

OrderedJson& OptionsForm::makeBlock(const FormSection& s) {
  if (!document_.is_object()) document_ = OrderedJson::object();
  OrderedJson* at = &document_;
  for (const auto& key : s.block) {
    OrderedJson& next = (*at)[key];
    if (!next.is_object()) next = OrderedJson::object();
    at = &next;
  }
  return *at;
}

void OptionsForm::setDocument(const OrderedJson& document) {
  document_ = document;
  showing_ = true;
  for (const QString& path : order_) showValue(rows_[path]);
  showing_ = false;
}

void OptionsForm::showValue(Row& row) {
  const FormField& f = *row.field;
  const OrderedJson* block = blockOf(*row.section);
  const bool present = block && block->contains(f.key);
  const Json value = present ? Json::parse((*block)[f.key].dump()) : Json();
  const Json shown = present ? value : f.defaultValue;
  switch (f.kind) {
    case Kind::kBool:
      static_cast<QCheckBox*>(row.editor)->setChecked(shown.is_boolean() && shown.get<bool>());
      break;
    case Kind::kInt: {
      auto* s = static_cast<QSpinBox*>(row.editor);
      if (shown.is_number_integer() && shown.get<int64_t>() > INT_MIN && shown.get<int64_t>() <= INT_MAX)
        s->setValue(int(shown.get<int64_t>()));
      else if (f.defaultValue.is_number_integer())
        s->setValue(int(f.defaultValue.get<int64_t>()));
      break;
    }
    case Kind::kChoice: {
      auto* c = static_cast<QComboBox*>(row.editor);
      const QString text = shown.is_string() ? qs(shown.get<std::string>()) : QString();
      if (c->findText(text) < 0 && !text.isEmpty()) c->addItem(text);  // shown as it is; the message says why not
      c->setCurrentText(text);
      break;
    }
    default: {
      QLineEdit* e = lineEditOf(row.editor);
      e->setText(present ? displayText(value) : QString());
      e->setPlaceholderText(displayText(f.defaultValue));
      break;
    }
  }
  if (present) setError(row, f.check(value));
  else setError(row, f.required ? "is required" : "");
}

std::optional<Json> OptionsForm::editorValue(const Row& row, std::string* parseError) const {
  const FormField& f = *row.field;
  switch (f.kind) {
    case Kind::kBool: return Json(static_cast<QCheckBox*>(row.editor)->isChecked());
    case Kind::kInt: return Json(int64_t(static_cast<QSpinBox*>(row.editor)->value()));
    case Kind::kChoice: return Json(static_cast<QComboBox*>(row.editor)->currentText().toStdString());
    default: break;
  }
  const QString text = lineEditOf(row.editor)->text().trimmed();
  if (text.isEmpty()) return std::nullopt;
  switch (f.kind) {
    case Kind::kNumber: {
      bool ok = false;
      const double v = text.toDouble(&ok);
      if (!ok) {
        *parseError = "must be a number, got '" + text.toStdString() + "'";
        return std::nullopt;
      }
      return Json(v);
    }
    case Kind::kStringList:
    case Kind::kPathList: {
      Json list = Json::array();
      for (const QString& item : text.split(QLatin1Char(';'), Qt::SkipEmptyParts))
        if (!item.trimmed().isEmpty()) list.push_back(item.trimmed().toStdString());
      return list;
    }
    case Kind::kJson: {
      Json v = parse_json_or_discarded(text.toStdString());
      if (v.is_discarded()) {
        *parseError = "is not a JSON value: " + text.toStdString();
        return std::nullopt;
      }
      return v;
    }
    default: return Json(text.toStdString());
  }
}

void OptionsForm::onEdited(const QString& path) {
  if (showing_ || !rows_.contains(path)) return;
  Row& row = rows_[path];
  std::string parseError;
  const std::optional<Json> value = editorValue(row, &parseError);
  if (!parseError.empty()) {
    setError(row, parseError);  // the document keeps its last good value
    return;
  }
  const std::string& key = row.field->key;
  if (value) {
    makeBlock(*row.section)[key] = OrderedJson::parse(value->dump());
    setError(row, row.field->check(*value));
  } else {
    if (blockOf(*row.section)) makeBlock(*row.section).erase(key);
    setError(row, row.field->required ? "is required" : "");
  }
  Q_EMIT documentEdited();
}

void OptionsForm::setError(Row& row, const std::string& message) {
  row.error->setText(qs(message));
  row.error->setVisible(!message.empty());
}

QWidget* OptionsForm::fieldWidget(const QString& path) const {
  auto it = rows_.constFind(path);
  return it == rows_.constEnd() ? nullptr : it->editor;
}

QString OptionsForm::fieldError(const QString& path) const {
  auto it = rows_.constFind(path);
  return it == rows_.constEnd() ? QString() : it->error->text();
}

QStringList OptionsForm::invalidFields() const {
  QStringList out;
  for (const QString& path : order_)
    if (!rows_[path].error->text().isEmpty()) out << path;
  return out;
}

}  // namespace kanana::gui
