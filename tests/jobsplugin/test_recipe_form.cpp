// The form generated from option tables (gui/sdk/options_form.h) over the real recipe tables,
// and the Jobs page's recipe editor keeping it and the JSON text in sync both ways: editing a
// field changes the recipe JSON (other keys kept, in order), a bad value shows the table's own
// message beside the field, JSON edits update the form, and the sections follow the type.
#include <QCheckBox>
#include <QComboBox>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QtTest>

#include <filesystem>

#include "../shards/shard_test_util.h"
#include "recipe_editor.h"
#include "sdk/options_form.h"
#include "train/optimizer_options.h"
#include "train/recipe.h"

using namespace kanana;
using namespace kanana::jobsplugin;

namespace {

// A pretrain recipe with keys no table covers (model, stages).
const char* kRecipe = R"({
  "type": "pretrain",
  "name": "form-test",
  "model": {"preset": "debug"},
  "seq_len": 16,
  "stages": [{"name": "s1", "token_budget": 384, "sources": [{"name": "src", "path": "packs/src", "weight": 1.0}],
              "schedule": {"kind": "cosine", "peak_lr": 0.001, "warmup_steps": 2}}],
  "optimizer": {"beta2": 0.95},
  "runtime": {"log_interval": 1}
}
)";

Json textJson(const RecipeEditor& e) { return Json::parse(e.text().toStdString()); }

}  // namespace

class TestRecipeForm : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;  // the recipe's folder, with the token pack its stage names

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    const std::filesystem::path packs = std::filesystem::path(tmp_.path().toStdString()) / "packs" / "src";
    auto m = shards::test::write_synthetic_pack(packs, shards::test::synthetic_docs(50, 3, 512, 5, 40), "src", 1 << 20, 10,
                                                "fp-test", 512);
    QVERIFY2(m.is_ok(), m.status().message().c_str());
  }

  void sectionFromATableHasItsFieldsDefaultsAndChecks() {
    const gui::FormSection s = gui::optionSection(QStringLiteral("Optimizer"), {"optimizer"}, train::adamw_option_fields());
    QCOMPARE(s.fields.size(), train::adamw_option_fields().size());
    const train::AdamWOptions defaults;
    for (const gui::FormField& f : s.fields) {
      if (f.key == "beta2") {
        QCOMPARE(f.kind, gui::FormField::Kind::kNumber);
        QCOMPARE(f.defaultValue.get<double>(), defaults.beta2);
        QCOMPARE(f.check(Json(0.99)), std::string());
        QCOMPARE(QString::fromStdString(f.check(Json(1.0))), QStringLiteral("must be in [0, 1), got 1"));
        QVERIFY(QString::fromStdString(f.check(Json("x"))).startsWith(QStringLiteral("must be a number")));
      }
      if (f.key == "weight_decay_mode") {  // an enumeration (a custom member): its own parser's message
        QCOMPARE(f.kind, gui::FormField::Kind::kChoice);
        QCOMPARE(f.choices, (std::vector<std::string>{"independent", "coupled"}));
        QVERIFY(QString::fromStdString(f.check(Json("sideways"))).contains(QStringLiteral("expected independent or coupled")));
      }
      if (f.key == "skip_1d_decay") QCOMPARE(f.kind, gui::FormField::Kind::kBool);
    }
  }

  void formEditsPatchTheDocumentAndShowTheTablesMessage() {
    gui::OptionsForm form;
    form.setSections({gui::optionSection(QStringLiteral("Recipe"), {}, train::recipe_option_fields()),
                      gui::optionSection(QStringLiteral("Runtime"), {"runtime"}, train::runtime_option_fields())});
    form.setDocument(gui::OrderedJson::parse(R"({"type": "pretrain", "seq_len": 32, "extra": [1, 2]})"));
    form.show();
    auto* seqLen = qobject_cast<QSpinBox*>(form.fieldWidget(QStringLiteral("seq_len")));
    QVERIFY(seqLen);
    QCOMPARE(seqLen->value(), 32);
    // A field absent from the document shows the table's default.
    auto* microBatch = qobject_cast<QSpinBox*>(form.fieldWidget(QStringLiteral("micro_batch_size")));
    QCOMPARE(microBatch->value(), int(train::Recipe{}.micro_batch_size));
    QVERIFY(microBatch->toolTip().contains(QStringLiteral("rows per micro-batch")));
    QSignalSpy edited(&form, &gui::OptionsForm::documentEdited);
    seqLen->setValue(64);
    QCOMPARE(edited.count(), 1);
    QCOMPARE(form.document()["seq_len"].get<int>(), 64);
    QCOMPARE(form.document()["extra"].dump(), std::string("[1,2]"));  // not a field: kept
    // The table refuses 0: its message beside the field, and the value is in the document
    // (the JSON shows what the user typed; the recipe check refuses it as well).
    seqLen->setValue(0);
    QVERIFY(form.fieldError(QStringLiteral("seq_len")).startsWith(QStringLiteral("must be >= 1")));
    QVERIFY(form.findChild<QLabel*>(QStringLiteral("seq_len.error"))->isVisible());
    QCOMPARE(form.invalidFields(), QStringList{QStringLiteral("seq_len")});
    seqLen->setValue(8);
    QCOMPARE(form.fieldError(QStringLiteral("seq_len")), QString());
    // A block that does not exist yet is made by the first edit in it; an enumeration is a
    // combo box showing the table's default.
    auto* dtype = qobject_cast<QComboBox*>(form.fieldWidget(QStringLiteral("runtime.dtype")));
    QVERIFY(dtype);
    QCOMPARE(dtype->currentText(), QStringLiteral("float32"));
    QVERIFY(!form.document().contains("runtime"));
    dtype->setCurrentText(QStringLiteral("bfloat16"));
    QCOMPARE(form.document()["runtime"]["dtype"].get<std::string>(), std::string("bfloat16"));
    // Text that is no number: the message, and the document keeps its last good value.
    auto* clip = qobject_cast<QLineEdit*>(form.fieldWidget(QStringLiteral("grad_clip")));
    clip->setText(QStringLiteral("-1"));
    Q_EMIT clip->textEdited(clip->text());
    QVERIFY(form.fieldError(QStringLiteral("grad_clip")).startsWith(QStringLiteral("must be >= 0 (0 = no clipping)")));
    clip->setText(QStringLiteral("abc"));
    Q_EMIT clip->textEdited(clip->text());
    QVERIFY(form.fieldError(QStringLiteral("grad_clip")).startsWith(QStringLiteral("must be a number")));
    QCOMPARE(form.document()["grad_clip"].get<double>(), -1.0);
    // Emptying a line edit removes the key: the default applies again.
    clip->clear();
    Q_EMIT clip->textEdited(QString());
    QVERIFY(!form.document().contains("grad_clip"));
    QCOMPARE(form.fieldError(QStringLiteral("grad_clip")), QString());
  }

  void editorKeepsFormAndJsonInSync() {
    RecipeEditor editor;
    editor.resize(900, 800);
    editor.show();
    editor.setText(QString::fromUtf8(kRecipe), tmp_.path());
    QVERIFY2(editor.lastCheck().ok, qPrintable(editor.lastCheck().message));
    gui::OptionsForm* form = editor.form();
    QVERIFY(form->isEnabled());
    QCOMPARE(editor.views()->tabText(0), QStringLiteral("Form"));
    QCOMPARE(editor.views()->tabText(1), QStringLiteral("Advanced (JSON)"));
    // A pretrain recipe: the shared sections, no type block.
    QStringList titles;
    for (auto* box : form->findChildren<QGroupBox*>()) titles << box->title();
    QVERIFY(titles.contains(QStringLiteral("Optimizer (optimizer)")));
    if (const QString shot = qEnvironmentVariable("RECIPE_FORM_SCREENSHOT"); !shot.isEmpty()) QVERIFY(editor.grab().save(shot));
    QVERIFY(!titles.contains(QStringLiteral("Distillation (distill)")));
    auto* beta2 = qobject_cast<QLineEdit*>(form->fieldWidget(QStringLiteral("optimizer.beta2")));
    QCOMPARE(beta2->text(), QStringLiteral("0.95"));

    // Form → JSON: the field changes, every other key stays (the stages, the user's own key).
    auto* seqLen = qobject_cast<QSpinBox*>(form->fieldWidget(QStringLiteral("seq_len")));
    seqLen->setValue(24);
    Json j = textJson(editor);
    QCOMPARE(j["seq_len"].get<int>(), 24);
    QCOMPARE(j["stages"][0]["schedule"]["peak_lr"].get<double>(), 0.001);
    QCOMPARE(j["model"]["preset"].get<std::string>(), std::string("debug"));
    QVERIFY(editor.text().indexOf(QStringLiteral("\"type\"")) < editor.text().indexOf(QStringLiteral("\"stages\"")));  // order kept
    QVERIFY2(editor.validateNow().ok, qPrintable(editor.lastCheck().message));
    auto* skip = qobject_cast<QCheckBox*>(form->fieldWidget(QStringLiteral("optimizer.skip_1d_decay")));
    skip->setChecked(!skip->isChecked());
    QCOMPARE(textJson(editor)["optimizer"]["skip_1d_decay"].get<bool>(), skip->isChecked());

    // An invalid value: the table's message beside the field, and the recipe check agrees.
    beta2->setText(QStringLiteral("1.5"));
    Q_EMIT beta2->textEdited(beta2->text());
    QVERIFY(form->fieldError(QStringLiteral("optimizer.beta2")).startsWith(QStringLiteral("must be in [0, 1)")));
    const RecipeCheck bad = editor.validateNow();
    QVERIFY(!bad.ok);
    QVERIFY(bad.message.contains(QStringLiteral("must be in [0, 1)")));

    // JSON → form: typing in the text updates the widgets and their messages.
    Json edited = textJson(editor);
    edited["optimizer"]["beta2"] = 0.9;
    edited["micro_batch_size"] = 0;
    editor.textEdit()->setPlainText(QString::fromStdString(edited.dump(2)));
    QCOMPARE(beta2->text(), QStringLiteral("0.9"));
    QCOMPARE(form->fieldError(QStringLiteral("optimizer.beta2")), QString());
    QCOMPARE(qobject_cast<QSpinBox*>(form->fieldWidget(QStringLiteral("micro_batch_size")))->value(), 0);
    QVERIFY(form->fieldError(QStringLiteral("micro_batch_size")).startsWith(QStringLiteral("must be >= 1")));
    // A key no table knows, typed in the JSON: the form keeps it through its own edits (the
    // recipe check is the one to refuse it, naming it).
    edited["optimizer"]["x_note"] = "kept";
    editor.textEdit()->setPlainText(QString::fromStdString(edited.dump(2)));
    qobject_cast<QSpinBox*>(form->fieldWidget(QStringLiteral("micro_batch_size")))->setValue(2);
    QCOMPARE(textJson(editor)["micro_batch_size"].get<int>(), 2);
    QCOMPARE(textJson(editor)["optimizer"]["x_note"].get<std::string>(), std::string("kept"));
    QVERIFY(editor.validateNow().message.contains(QStringLiteral("x_note")));
    // Broken JSON: the form waits (disabled) instead of overwriting the text.
    editor.textEdit()->setPlainText(QStringLiteral("{\"type\": "));
    QVERIFY(!form->isEnabled());

    // Another type: its own block gets a section, with the enum as a combo box.
    Json dpo = Json::parse(kRecipe);
    dpo["type"] = "dpo";
    dpo["dpo"] = {{"train", "prefs.jsonl"}, {"beta", 0.2}};
    editor.textEdit()->setPlainText(QString::fromStdString(dpo.dump(2)));
    QVERIFY(form->isEnabled());
    auto* loss = qobject_cast<QComboBox*>(form->fieldWidget(QStringLiteral("dpo.loss")));
    QVERIFY(loss);
    QCOMPARE(loss->currentText(), QStringLiteral("sigmoid"));  // the table's default
    loss->setCurrentText(QStringLiteral("ipo"));
    QCOMPARE(textJson(editor)["dpo"]["loss"].get<std::string>(), std::string("ipo"));
    QCOMPARE(textJson(editor)["dpo"]["train"].get<std::string>(), std::string("prefs.jsonl"));
    auto* beta = qobject_cast<QLineEdit*>(form->fieldWidget(QStringLiteral("dpo.beta")));
    QCOMPARE(beta->text(), QStringLiteral("0.2"));
    beta->setText(QStringLiteral("0"));
    Q_EMIT beta->textEdited(beta->text());
    QVERIFY(form->fieldError(QStringLiteral("dpo.beta")).startsWith(QStringLiteral("must be > 0")));
    QVERIFY(form->fieldWidget(QStringLiteral("dpo.online.rounds")));
  }
};

#include "test_main.h"
KANANA_TEST_MAIN(TestRecipeForm)
#include "test_recipe_form.moc"
