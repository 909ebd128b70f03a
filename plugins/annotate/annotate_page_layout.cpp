// The Preference Annotation page's layout: the toolbar (sets, models, generation, import and
// export), the decision bar and the keyboard shortcuts (see annotate_page.h). The behaviour is in
// annotate_page.cpp.
#include "annotate_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QShortcut>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include "annotation_session.h"
#include "sdk/workbench_context.h"
#include "generation_controller.h"
#include "queue_model.h"
#include "reward_scorer.h"

namespace kanana::annotate {

// ---------------------------------------------------------------- building

QWidget* AnnotatePage::buildToolbar() {
  auto* bar = new QWidget(this);
  auto* v = new QVBoxLayout(bar);
  v->setContentsMargins(0, 0, 0, 0);
  auto* row1 = new QHBoxLayout;
  auto* row2 = new QHBoxLayout;
  v->addLayout(row1);
  v->addLayout(row2);

  row1->addWidget(new QLabel(tr("Prompt set"), bar));
  sets_ = new QComboBox(bar);
  sets_->setObjectName(QStringLiteral("promptSets"));
  sets_->setMinimumContentsLength(16);
  sets_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  connect(sets_, &QComboBox::currentIndexChanged, this, [this](int index) {
    if (filling_ || index < 0) return;
    selectPromptSet(sets_->itemData(index).toLongLong());
  });
  row1->addWidget(sets_);
  auto* importPrompts = new QPushButton(tr("Import prompts…"), bar);
  importPrompts->setToolTip(tr("Add the prompts of a JSONL file (prompt / messages per line) as a prompt set"));
  connect(importPrompts, &QPushButton::clicked, this, [this] {
    const QString file = QFileDialog::getOpenFileName(this, tr("Import prompts"), context_ ? context_->dialogDir(QStringLiteral("data")) : QString(), tr("JSONL (*.jsonl);;All files (*)"));
    if (file.isEmpty()) return;
    QString error;
    if (!this->importPrompts(file, &error)) setStatus(error, true);
  });
  row1->addWidget(importPrompts);
  row1->addSpacing(12);
  for (int i = 0; i < 2; ++i) {
    row1->addWidget(new QLabel(i == 0 ? tr("Model A") : tr("Model B"), bar));
    auto* combo = new QComboBox(bar);
    combo->setObjectName(i == 0 ? QStringLiteral("modelA") : QStringLiteral("modelB"));
    combo->setEditable(true);
    combo->setMinimumContentsLength(18);
    combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    combo->setToolTip(i == 0 ? tr("Model folder the candidates are sampled from")
                             : tr("Optional second model: its candidates are compared with model A's, one of each side by side"));
    row1->addWidget(combo, 1);
    auto* browse = new QToolButton(bar);
    browse->setText(QStringLiteral("…"));
    connect(browse, &QToolButton::clicked, this, [this, combo] { browseModel(combo); });
    row1->addWidget(browse);
    (i == 0 ? modelA_ : modelB_) = combo;
  }
  row1->addWidget(new QLabel(tr("N"), bar));
  perPrompt_ = new QSpinBox(bar);
  perPrompt_->setObjectName(QStringLiteral("candidatesPerPrompt"));
  perPrompt_->setRange(1, 16);
  perPrompt_->setValue(2);
  perPrompt_->setToolTip(tr("Candidates per prompt and model"));
  row1->addWidget(perPrompt_);
  row1->addWidget(new QLabel(tr("Max tokens"), bar));
  maxTokens_ = new QSpinBox(bar);
  maxTokens_->setRange(1, 4096);
  maxTokens_->setValue(96);
  row1->addWidget(maxTokens_);
  generate_ = new QPushButton(tr("Generate"), bar);
  generate_->setObjectName(QStringLiteral("generate"));
  generate_->setToolTip(tr("Fill every prompt of the set up to N candidates per model, in the background"));
  connect(generate_, &QPushButton::clicked, this, [this] {
    QString error;
    if (!startGeneration(&error)) setStatus(error, true);
  });
  row1->addWidget(generate_);
  stop_ = new QPushButton(tr("Stop"), bar);
  stop_->setObjectName(QStringLiteral("stopGeneration"));
  connect(stop_, &QPushButton::clicked, generation_, &GenerationController::cancel);
  row1->addWidget(stop_);

  row2->addWidget(new QLabel(tr("Annotator"), bar));
  annotator_ = new QLineEdit(bar);
  annotator_->setObjectName(QStringLiteral("annotator"));
  annotator_->setMaximumWidth(140);
  connect(annotator_, &QLineEdit::editingFinished, this, [this] { session_->setAnnotator(annotator_->text().trimmed()); });
  row2->addWidget(annotator_);
  row2->addWidget(new QLabel(tr("Mode"), bar));
  mode_ = new QComboBox(bar);
  mode_->setObjectName(QStringLiteral("mode"));
  mode_->addItem(tr("Pairwise (1 / 2 / T)"));
  mode_->addItem(tr("Rank all (number keys)"));
  connect(mode_, &QComboBox::currentIndexChanged, this,
          [this](int i) { session_->setMode(i == 1 ? Mode::kRanking : Mode::kPairwise); });
  row2->addWidget(mode_);
  row2->addWidget(new QLabel(tr("Show"), bar));
  filter_ = new QComboBox(bar);
  filter_->setObjectName(QStringLiteral("filter"));
  filter_->addItem(tr("To label"));
  filter_->addItem(tr("All"));
  filter_->addItem(tr("Disagreements"));
  connect(filter_, &QComboBox::currentIndexChanged, this, [this](int i) {
    session_->setFilter(i == 1 ? QueueFilter::kAll : i == 2 ? QueueFilter::kDisagreements : QueueFilter::kToLabel);
  });
  row2->addWidget(filter_);
  blind_ = new QCheckBox(tr("Blind order"), bar);
  blind_->setChecked(true);
  blind_->setToolTip(tr("Shuffle the candidates of each item so the side does not tell the model"));
  connect(blind_, &QCheckBox::toggled, session_, &AnnotationSession::setBlind);
  row2->addWidget(blind_);
  diff_ = new QCheckBox(tr("Word diff"), bar);
  diff_->setObjectName(QStringLiteral("wordDiff"));
  diff_->setChecked(true);
  connect(diff_, &QCheckBox::toggled, this, &AnnotatePage::showCurrent);
  row2->addWidget(diff_);
  row2->addStretch(1);
  reward_ = new QPushButton(tr("Reward model…"), bar);
  reward_->setObjectName(QStringLiteral("rewardModel"));
  reward_->setToolTip(tr("Score every candidate with a reward model (best-of-N column)"));
  connect(reward_, &QPushButton::clicked, this, &AnnotatePage::chooseRewardModel);
  row2->addWidget(reward_);
  auto* exportButton = new QToolButton(bar);
  exportButton->setText(tr("Export"));
  exportButton->setPopupMode(QToolButton::InstantPopup);
  auto* menu = new QMenu(exportButton);
  for (bool messages : {false, true}) {
    menu->addAction(messages ? tr("TRL messages form…") : tr("TRL prompt/chosen/rejected…"), this, [this, messages] {
      const QString file = QFileDialog::getSaveFileName(this, tr("Export preferences"),
                                                        QDir(context_ ? context_->dialogDir(QStringLiteral("data")) : QString()).filePath(QStringLiteral("preferences.jsonl")),
                                                        tr("JSONL (*.jsonl)"));
      if (file.isEmpty()) return;
      QString error;
      if (!exportPairs(file, messages, &error)) setStatus(error, true);
    });
  }
  exportButton->setMenu(menu);
  row2->addWidget(exportButton);
  auto* reload = new QToolButton(bar);
  reload->setText(tr("Reload"));
  reload->setToolTip(tr("Read the prompt set again (labels from other annotators or processes)"));
  connect(reload, &QToolButton::clicked, this, [this] {
    QString error;
    if (!session_->reload(&error)) setStatus(error, true);
  });
  row2->addWidget(reload);
  return bar;
}

QWidget* AnnotatePage::buildDecisionBar() {
  auto* bar = new QWidget(this);
  auto* h = new QHBoxLayout(bar);
  h->setContentsMargins(0, 0, 0, 0);
  auto add = [&](const QString& text, const QString& name, const QString& tip, std::function<void()> f) {
    auto* b = new QPushButton(text, bar);
    b->setObjectName(name);
    b->setToolTip(tip);
    b->setFocusPolicy(Qt::NoFocus);
    connect(b, &QPushButton::clicked, this, std::move(f));
    h->addWidget(b);
    decisionButtons_.push_back(b);
  };
  add(tr("1 is better  [1]"), QStringLiteral("choose1"), tr("The first candidate is better"), [this] { onDigit(1); });
  add(tr("Tie  [T]"), QStringLiteral("tie"), tr("Equally good (or bad)"), [this] { decide([this](QString* e) { return session_->tie(e); }); });
  add(tr("2 is better  [2]"), QStringLiteral("choose2"), tr("The second candidate is better"), [this] { onDigit(2); });
  add(tr("Skip  [S]"), QStringLiteral("skip"), tr("Decide later: moves the item to the back of the queue"), [this] { session_->skip(); });
  add(tr("Edit…  [E]"), QStringLiteral("edit"), tr("Repair a candidate: the edited text is saved as preferred over it"), [this] { askEdit(); });
  add(tr("Continue…  [C]"), QStringLiteral("continue"), tr("Multi-turn: append the chosen reply and a new user turn"), [this] { askContinue(); });
  add(tr("Undo  [Ctrl+Z]"), QStringLiteral("undo"), tr("Undo your latest judgement in this prompt set"),
      [this] { decide([this](QString* e) { return session_->undo(e); }); });
  rankLabel_ = new QLabel(bar);
  rankLabel_->setObjectName(QStringLiteral("ranking"));
  h->addWidget(rankLabel_, 1);
  return bar;
}

void AnnotatePage::installShortcuts() {
  auto shortcut = [this](const QKeySequence& keys, std::function<void()> f) {
    auto* s = new QShortcut(keys, this);
    s->setContext(Qt::WindowShortcut);  // a hidden page's shortcuts do not fire
    connect(s, &QShortcut::activated, this, std::move(f));
  };
  for (int d = 1; d <= 9; ++d) shortcut(QKeySequence(Qt::Key_0 + d), [this, d] { onDigit(d); });
  shortcut(QKeySequence(Qt::Key_T), [this] { decide([this](QString* e) { return session_->tie(e); }); });
  shortcut(QKeySequence(Qt::Key_S), [this] { session_->skip(); });
  shortcut(QKeySequence(Qt::Key_E), [this] { askEdit(); });
  shortcut(QKeySequence(Qt::Key_C), [this] { askContinue(); });
  shortcut(QKeySequence::Undo, [this] { decide([this](QString* e) { return session_->undo(e); }); });
  for (int key : {int(Qt::Key_Return), int(Qt::Key_Enter)})
    shortcut(QKeySequence(key), [this] {
      if (session_->mode() != Mode::kRanking || rankBuffer_.size() < 2) return;
      const std::vector<int> order = rankBuffer_;
      decide([this, order](QString* e) { return session_->rank(order, e); });
    });
  shortcut(QKeySequence(Qt::Key_Backspace), [this] {
    rankBuffer_.clear();
    updateButtons();
  });
}

}  // namespace kanana::annotate
