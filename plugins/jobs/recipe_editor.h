// The recipe editor: presets, open and save, and two views of one recipe kept in sync both
// ways — a form generated from the recipe type's option tables (recipe_form.h: one widget per
// field, the table's message beside a bad value) and the JSON text ("Advanced (JSON)": every
// key, the form's and the rest). Validated as you type (a short debounce after the last key,
// then recipe_check.h: JSON syntax, then the trainer's own parser). An error names the field
// and marks its line; launching is allowed only while the recipe is valid. GUI thread; validation of a recipe is fast (no file is read but the
// pack manifests the stages name), so it runs inline.
#pragma once

#include <QWidget>

#include "base/json.h"
#include "recipe_check.h"

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTabWidget;
class QTimer;

namespace kanana::gui {
class OptionsForm;
}

namespace kanana::jobsplugin {

class RecipeEditor : public QWidget {
  Q_OBJECT
 public:
  explicit RecipeEditor(QWidget* parent = nullptr);

  // Presets of the workspace (the demo workspace's tiny CPU recipe) and resources.
  void setWorkspaceDir(const QString& dir);

  bool loadFile(const QString& path, QString* error);
  bool saveFile(const QString& path, QString* error);
  void setText(const QString& text, const QString& baseDir);
  QString text() const;
  QString filePath() const { return file_; }
  QString baseDir() const { return baseDir_; }
  bool modified() const;

  // Validates now (the debounce timer does this while typing) and returns the result.
  RecipeCheck validateNow();
  const RecipeCheck& lastCheck() const { return check_; }
  // The recipe as JSON (only meaningful while lastCheck().ok).
  Json recipeJson() const;

  QPlainTextEdit* textEdit() const { return edit_; }
  gui::OptionsForm* form() const { return form_; }
  QTabWidget* views() const { return views_; }  // "Form" | "Advanced (JSON)"
  QLabel* statusLabel() const { return status_; }
  QComboBox* presetBox() const { return presets_; }

  static constexpr int kDebounceMs = 300;

 Q_SIGNALS:
  void validated(bool ok);

 private:
  void applyPreset(int index);
  void openDialog();
  void saveDialog();
  void showCheck();
  // The JSON text → the form (the sections follow the recipe's type).
  void textToForm();
  // The form → the JSON text.
  void formToText();

  QComboBox* presets_;
  QPlainTextEdit* edit_;
  gui::OptionsForm* form_;
  QTabWidget* views_;
  QLabel* formNote_;
  std::string formType_ = "\x01";  // the type the form's sections are for (none yet)
  bool syncing_ = false;
  QLabel* status_;
  QLabel* fileLabel_;
  QTimer* debounce_;
  QString file_;
  QString baseDir_;
  QString savedText_;
  QString workspaceDir_;
  RecipeCheck check_;
  bool fromPreset_ = false;
};

}  // namespace kanana::jobsplugin
