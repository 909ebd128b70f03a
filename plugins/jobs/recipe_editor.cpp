// See recipe_editor.h.
#include "recipe_editor.h"

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSaveFile>
#include <QTabWidget>
#include <QTextBlock>
#include <QTextCursor>
#include <QTimer>
#include <QVBoxLayout>

#include "recipe_files.h"
#include "recipe_form.h"
#include "sdk/options_form.h"

namespace kanana::jobsplugin {

RecipeEditor::RecipeEditor(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Preset:"), this));
  presets_ = new QComboBox(this);
  presets_->setObjectName(QStringLiteral("recipePresets"));
  presets_->setMinimumContentsLength(18);
  bar->addWidget(presets_, 1);
  auto* open = new QPushButton(tr("Open…"), this);
  auto* save = new QPushButton(tr("Save"), this);
  auto* saveAs = new QPushButton(tr("Save as…"), this);
  bar->addWidget(open);
  bar->addWidget(save);
  bar->addWidget(saveAs);
  layout->addLayout(bar);
  fileLabel_ = new QLabel(this);
  fileLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  fileLabel_->setStyleSheet(QStringLiteral("color: palette(mid);"));
  layout->addWidget(fileLabel_);
  edit_ = new QPlainTextEdit(this);
  edit_->setObjectName(QStringLiteral("recipeText"));
  edit_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  edit_->setLineWrapMode(QPlainTextEdit::NoWrap);
  edit_->setTabChangesFocus(false);
  edit_->setPlaceholderText(tr("A training recipe (JSON): pick a preset, open a file, or paste one."));
  // The form: the option tables of the recipe's type, in sync with the text.
  form_ = new gui::OptionsForm(this);
  form_->setObjectName(QStringLiteral("recipeForm"));
  auto* formPage = new QWidget(this);
  auto* formLayout = new QVBoxLayout(formPage);
  formLayout->setContentsMargins(0, 0, 0, 0);
  formNote_ = new QLabel(formPage);
  formNote_->setWordWrap(true);
  formNote_->setStyleSheet(QStringLiteral("color: palette(mid);"));
  formLayout->addWidget(formNote_);
  auto* scroll = new QScrollArea(formPage);
  scroll->setWidget(form_);
  scroll->setWidgetResizable(true);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);  // the fields grow with the width
  scroll->setFrameShape(QFrame::NoFrame);
  formLayout->addWidget(scroll, 1);
  views_ = new QTabWidget(this);
  views_->setObjectName(QStringLiteral("recipeViews"));
  views_->addTab(formPage, tr("Form"));
  views_->addTab(edit_, tr("Advanced (JSON)"));
  layout->addWidget(views_, 1);
  status_ = new QLabel(this);
  status_->setObjectName(QStringLiteral("recipeStatus"));
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(status_);

  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(kDebounceMs);
  connect(debounce_, &QTimer::timeout, this, [this] { validateNow(); });
  connect(edit_, &QPlainTextEdit::textChanged, this, [this] {
    debounce_->start();
    if (!syncing_) textToForm();
  });
  connect(form_, &gui::OptionsForm::documentEdited, this, &RecipeEditor::formToText);
  connect(presets_, qOverload<int>(&QComboBox::activated), this, &RecipeEditor::applyPreset);
  connect(open, &QPushButton::clicked, this, &RecipeEditor::openDialog);
  connect(save, &QPushButton::clicked, this, [this] {
    // A preset is shipped with the app: save the edited copy elsewhere.
    if (file_.isEmpty() || fromPreset_ || !QFileInfo(file_).isWritable()) {
      saveDialog();
      return;
    }
    QString error;
    if (!saveFile(file_, &error)) status_->setText(error);
  });
  connect(saveAs, &QPushButton::clicked, this, &RecipeEditor::saveDialog);
  setWorkspaceDir(QString());
  textToForm();
}

void RecipeEditor::textToForm() {
  const QString text = edit_->toPlainText();
  const gui::OrderedJson doc = gui::OrderedJson::parse(text.toStdString(), nullptr, false);
  if (text.trimmed().isEmpty() || doc.is_discarded() || !doc.is_object()) {
    // The form keeps the last recipe it showed (at first a pretrain recipe's defaults, to show
    // what there is to set); editing it would overwrite the text.
    if (form_->sections().empty()) {
      formType_ = "pretrain";
      form_->setSections(recipeFormSections(formType_));
    }
    form_->setEnabled(false);
    formNote_->setText(text.trimmed().isEmpty() ? tr("Pick a preset or open a recipe to edit it here.")
                                                 : tr("The JSON text does not parse: fix it in the Advanced (JSON) tab."));
    return;
  }
  const std::string type = doc.contains("type") && doc["type"].is_string() ? doc["type"].get<std::string>() : "pretrain";
  if (type != formType_) {
    formType_ = type;
    form_->setSections(recipeFormSections(type));
  }
  form_->setDocument(doc);
  form_->setEnabled(true);
  formNote_->setText(tr("Recipe type '%1'. Model, stages and data sources are edited in the Advanced (JSON) tab; "
                        "keys the form does not show are kept.").arg(QString::fromStdString(type)));
}

void RecipeEditor::formToText() {
  syncing_ = true;
  // One undoable edit that replaces the whole text, so Ctrl+Z in the JSON tab undoes a form change.
  QTextCursor c(edit_->document());
  c.select(QTextCursor::Document);
  c.insertText(QString::fromStdString(form_->document().dump(2)) + QLatin1Char('\n'));
  syncing_ = false;
}

void RecipeEditor::setWorkspaceDir(const QString& dir) {
  workspaceDir_ = dir;
  presets_->clear();
  presets_->addItem(tr("(choose a preset)"));
  for (const RecipePreset& p : recipePresets(dir)) {
    presets_->addItem(p.title, p.path);
    presets_->setItemData(presets_->count() - 1, p.description + QStringLiteral("\n") + p.path, Qt::ToolTipRole);
  }
}

void RecipeEditor::applyPreset(int index) {
  const QString path = presets_->itemData(index).toString();
  if (path.isEmpty()) return;
  QString error;
  if (!loadFile(path, &error)) status_->setText(error);
  fromPreset_ = true;
}

bool RecipeEditor::loadFile(const QString& path, QString* error) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) {
    if (error) *error = tr("cannot read %1: %2").arg(path, f.errorString());
    return false;
  }
  const QString text = QString::fromUtf8(f.readAll());
  file_ = QFileInfo(path).absoluteFilePath();
  fromPreset_ = false;
  savedText_ = text;
  setText(text, QFileInfo(path).absolutePath());
  return true;
}

bool RecipeEditor::saveFile(const QString& path, QString* error) {
  const QString target = QFileInfo(path).absoluteFilePath();
  QString text = edit_->toPlainText();
  // Relative paths meant the old folder: keep them pointing there from the new one.
  if (!baseDir_.isEmpty() && QFileInfo(target).absolutePath() != QDir(baseDir_).absolutePath() && check_.ok) {
    auto json = parse_json(text.toStdString(), "recipe");
    if (json.is_ok()) text = QString::fromStdString(absolutizeRecipePaths(*json, baseDir_).dump(2)) + QLatin1Char('\n');
  }
  QSaveFile f(target);
  if (!f.open(QIODevice::WriteOnly) || f.write(text.toUtf8()) < 0 || !f.commit()) {
    if (error) *error = tr("cannot write %1: %2").arg(target, f.errorString());
    return false;
  }
  file_ = target;
  fromPreset_ = false;
  savedText_ = text;
  setText(text, QFileInfo(target).absolutePath());
  return true;
}

void RecipeEditor::setText(const QString& text, const QString& baseDir) {
  baseDir_ = baseDir;
  fileLabel_->setText(file_.isEmpty() ? tr("unsaved recipe · relative paths resolve against %1").arg(baseDir.isEmpty() ? QDir::currentPath() : baseDir)
                                      : file_);
  edit_->setPlainText(text);
  validateNow();
}

QString RecipeEditor::text() const { return edit_->toPlainText(); }
bool RecipeEditor::modified() const { return edit_->toPlainText() != savedText_; }

Json RecipeEditor::recipeJson() const {
  auto json = parse_json(edit_->toPlainText().toStdString(), "recipe");
  return json.is_ok() ? *json : Json();
}

RecipeCheck RecipeEditor::validateNow() {
  debounce_->stop();
  const QString origin = file_.isEmpty() ? QStringLiteral("recipe") : QFileInfo(file_).fileName();
  if (edit_->toPlainText().trimmed().isEmpty()) {
    check_ = RecipeCheck{};
    check_.message = tr("empty recipe");
  } else {
    check_ = checkRecipeText(edit_->toPlainText(), origin, baseDir_.isEmpty() ? QDir::currentPath() : baseDir_);
  }
  showCheck();
  Q_EMIT validated(check_.ok);
  return check_;
}

void RecipeEditor::showCheck() {
  QList<QTextEdit::ExtraSelection> marks;
  if (check_.ok && !check_.warnings.isEmpty()) {
    status_->setStyleSheet(QStringLiteral("color: #b07010;"));
    status_->setText(QStringLiteral("✓ ") + check_.message + QStringLiteral("\n⚠ ") + check_.warnings.join(QStringLiteral("\n⚠ ")) +
                     tr("\n(fine for an SSH or Slurm target where these paths exist; a local run would fail)"));
  } else if (check_.ok) {
    status_->setStyleSheet(QStringLiteral("color: #2a8a4a;"));
    status_->setText(QStringLiteral("✓ ") + check_.message);
  } else {
    status_->setStyleSheet(QStringLiteral("color: #c03030;"));
    QString where;
    if (!check_.field.isEmpty()) where = tr("field %1").arg(check_.field);
    if (check_.line > 0) where += (where.isEmpty() ? QString() : QStringLiteral(", ")) + tr("line %1").arg(check_.line);
    status_->setText(QStringLiteral("✗ ") + (where.isEmpty() ? QString() : where + QStringLiteral(": ")) + check_.message);
    if (check_.line > 0) {
      QTextEdit::ExtraSelection mark;
      mark.cursor = QTextCursor(edit_->document()->findBlockByNumber(check_.line - 1));
      mark.format.setBackground(QColor(255, 220, 220));
      mark.format.setProperty(QTextFormat::FullWidthSelection, true);
      marks.append(mark);
    }
  }
  edit_->setExtraSelections(marks);
}

void RecipeEditor::openDialog() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open recipe"), baseDir_, tr("Recipes (*.json);;All files (*)"));
  if (path.isEmpty()) return;
  QString error;
  if (!loadFile(path, &error)) status_->setText(error);
}

void RecipeEditor::saveDialog() {
  QString start = file_;
  if (start.isEmpty() || !QFileInfo(QFileInfo(start).absolutePath()).isWritable())
    start = (workspaceDir_.isEmpty() ? QDir::homePath() : workspaceDir_ + QStringLiteral("/data")) + QStringLiteral("/") +
            (check_.name.isEmpty() ? QStringLiteral("recipe") : check_.name) + QStringLiteral(".json");
  const QString path = QFileDialog::getSaveFileName(this, tr("Save recipe"), start, tr("Recipes (*.json)"));
  if (path.isEmpty()) return;
  QString error;
  if (!saveFile(path, &error)) status_->setText(error);
}

}  // namespace kanana::jobsplugin
