// The Preference Annotation page's widgets (see annotate_page.h).
#include "annotate_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QFrame>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QTextBrowser>
#include <QThread>
#include <QVBoxLayout>
#include <algorithm>

#include "annotation_session.h"
#include "diff_html.h"
#include "generation_controller.h"
#include "prefs/conversation.h"
#include "prefs/pref_store.h"
#include "prefs/prompt_jsonl.h"
#include "prefs/trl_jsonl.h"
#include "queue_model.h"
#include "reward_scorer.h"
#include "sdk/workbench_context.h"
#include "store/workspace.h"

namespace kanana::annotate {

namespace {

constexpr const char* kKeyAnnotator = "annotate/annotator";
constexpr const char* kKeyModelA = "annotate/modelA";
constexpr const char* kKeyModelB = "annotate/modelB";
constexpr const char* kKeyPerPrompt = "annotate/candidatesPerPrompt";
constexpr const char* kKeyMaxTokens = "annotate/maxNewTokens";
constexpr const char* kKeyMode = "annotate/mode";
constexpr const char* kKeySet = "annotate/promptSet";

QString roleColor(const std::string& role) {
  if (role == "system") return QStringLiteral("#6a1b9a");
  if (role == "user") return QStringLiteral("#1565c0");
  if (role == "assistant") return QStringLiteral("#2e7d32");
  return QStringLiteral("#6d4c41");
}

QString conversationHtml(const Json& messages) {
  QString html;
  for (const Json& m : messages) {
    if (!m.is_object()) continue;
    const std::string role = m.value("role", std::string("?"));
    QString content = m.contains("content") && m["content"].is_string() ? QString::fromStdString(m["content"].get<std::string>()) : QString();
    if (m.contains("tool_calls")) content += QStringLiteral("\n[tool calls] ") + QString::fromStdString(m["tool_calls"].dump());
    html += QStringLiteral("<p style=\"margin:2px 0\"><b style=\"color:%1\">%2</b>&nbsp; %3</p>")
                .arg(roleColor(role), QString::fromStdString(role), plainHtml(content));
  }
  return html;
}

}  // namespace

AnnotatePage::AnnotatePage(gui::WorkbenchContext* context, QWidget* parent)
    : QWidget(parent), context_(context) {
  setObjectName(QStringLiteral("annotatePage"));
  session_ = new AnnotationSession(this);
  queueModel_ = new QueueModel(session_, this);
  generation_ = new GenerationController(this);
  scorer_ = new RewardScorer(this);
  scoreTimer_.setSingleShot(true);
  scoreTimer_.setInterval(150);
  connect(&scoreTimer_, &QTimer::timeout, this, &AnnotatePage::flushScoring);

  auto* root = new QVBoxLayout(this);
  root->setContentsMargins(6, 6, 6, 6);
  root->addWidget(buildToolbar());

  auto* split = new QSplitter(Qt::Horizontal, this);
  auto* left = new QWidget(split);
  auto* lv = new QVBoxLayout(left);
  lv->setContentsMargins(0, 0, 0, 0);
  queue_ = new QTableView(left);
  queue_->setObjectName(QStringLiteral("queue"));
  queue_->setModel(queueModel_);
  queue_->setSelectionBehavior(QAbstractItemView::SelectRows);
  queue_->setSelectionMode(QAbstractItemView::SingleSelection);
  queue_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  queue_->verticalHeader()->hide();
  queue_->horizontalHeader()->setSectionResizeMode(QueueModel::kPrompt, QHeaderView::Stretch);
  queue_->horizontalHeader()->setSectionResizeMode(QueueModel::kCandidates, QHeaderView::ResizeToContents);
  queue_->horizontalHeader()->setSectionResizeMode(QueueModel::kState, QHeaderView::ResizeToContents);
  queue_->horizontalHeader()->setSectionResizeMode(QueueModel::kBest, QHeaderView::ResizeToContents);
  queue_->setWordWrap(false);
  lv->addWidget(queue_, 1);
  progress_ = new QProgressBar(left);
  progress_->setObjectName(QStringLiteral("labelProgress"));
  lv->addWidget(progress_);
  progressLabel_ = new QLabel(left);
  progressLabel_->setObjectName(QStringLiteral("progressLabel"));
  progressLabel_->setWordWrap(true);
  lv->addWidget(progressLabel_);
  genProgress_ = new QProgressBar(left);
  genProgress_->setObjectName(QStringLiteral("generationProgress"));
  genProgress_->setFormat(tr("generating %v / %m candidates"));
  genProgress_->hide();
  lv->addWidget(genProgress_);

  auto* right = new QWidget(split);
  auto* rv = new QVBoxLayout(right);
  rv->setContentsMargins(0, 0, 0, 0);
  conversation_ = new QTextBrowser(right);
  conversation_->setObjectName(QStringLiteral("conversation"));
  conversation_->setMaximumHeight(120);
  rv->addWidget(conversation_);
  auto* scroll = new QScrollArea(right);
  scroll->setWidgetResizable(true);
  auto* panesHost = new QWidget(scroll);
  panes_ = new QHBoxLayout(panesHost);
  panes_->setContentsMargins(0, 0, 0, 0);
  scroll->setWidget(panesHost);
  rv->addWidget(scroll, 1);
  labels_ = new QLabel(right);
  labels_->setObjectName(QStringLiteral("annotatorLabels"));
  labels_->setWordWrap(true);
  labels_->hide();
  rv->addWidget(labels_);
  reason_ = new QLineEdit(right);
  reason_->setObjectName(QStringLiteral("reason"));
  reason_->setPlaceholderText(tr("Reason (optional): saved with the next decision"));
  connect(reason_, &QLineEdit::textChanged, session_, &AnnotationSession::setReason);
  rv->addWidget(reason_);
  rv->addWidget(buildDecisionBar());
  status_ = new QLabel(right);
  status_->setObjectName(QStringLiteral("status"));
  status_->setWordWrap(true);
  rv->addWidget(status_);
  split->addWidget(left);
  split->addWidget(right);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  split->setSizes({520, 860});
  root->addWidget(split, 1);

  installShortcuts();
  updateProgress();

  connect(session_, &AnnotationSession::promptSetsChanged, this, &AnnotatePage::refillSets);
  connect(session_, &AnnotationSession::queueChanged, this, [this] {
    updateProgress();
    const int row = session_->currentRow();
    if (row >= 0) {
      QSignalBlocker block(queue_->selectionModel());
      queue_->selectionModel()->setCurrentIndex(queueModel_->index(row, 0),
                                                QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    }
  });
  connect(session_, &AnnotationSession::currentChanged, this, [this](int row) {
    rankBuffer_.clear();
    if (row >= 0) {
      QSignalBlocker block(queue_->selectionModel());
      queue_->selectionModel()->setCurrentIndex(queueModel_->index(row, 0),
                                                QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
      queue_->scrollTo(queueModel_->index(row, 0));
    }
    showCurrent();
    updateButtons();
  });
  connect(queue_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this](const QModelIndex& index) { session_->setCurrentRow(index.isValid() ? index.row() : -1); });
  connect(session_, &AnnotationSession::decisionSaved, this, [this](qint64 id, const QString& what) {
    reason_->clear();
    const QueueProgress p = session_->progress();
    setStatus(id ? tr("Saved: %1 (judgement %2). %3 of %4 labelled.").arg(what).arg(id).arg(p.labelled).arg(p.items)
                 : tr("Undone: %1.").arg(what));
  });
  connect(session_, &AnnotationSession::scoresChanged, this, [this](qint64 promptId) {
    if (session_->current() && session_->current()->promptId == promptId) showCurrent();
  });

  connect(generation_, &GenerationController::started, this, [this] {
    genProgress_->setRange(0, 0);
    genProgress_->show();
    updateButtons();
  });
  connect(generation_, &GenerationController::candidateStored, this, [this](qint64 promptId, qint64 candidateId) {
    session_->candidateAdded(promptId, candidateId);
    scheduleScoring(promptId);
    if (session_->current() && session_->current()->promptId == promptId) showCurrent();
  });
  connect(generation_, &GenerationController::progress, this, [this](qint64 done, qint64 total) {
    genProgress_->setRange(0, int(total));
    genProgress_->setValue(int(done));
  });
  connect(generation_, &GenerationController::finished, this, [this](bool ok, bool cancelled, const QString& message) {
    genProgress_->hide();
    updateButtons();
    if (ok) setStatus(tr("Generation finished: %1.").arg(message));
    else if (cancelled) setStatus(tr("Generation stopped: %1 (the finished candidates are kept).").arg(message));
    else setStatus(tr("Generation failed: %1").arg(message), true);
  });

  connect(scorer_, &RewardScorer::ready, this, [this](const QString& label) {
    reward_->setText(tr("Scoring: %1").arg(QFileInfo(label).fileName().isEmpty() ? label : QFileInfo(label).fileName()));
    reward_->setToolTip(label);
    setStatus(tr("Best-of-N scores from %1.").arg(label));
    if (session_->promptSetId())
      for (int r = 0; r < session_->rowCount(); ++r) scheduleScoring(session_->item(r).promptId);
  });
  connect(scorer_, &RewardScorer::failed, this, [this](const QString& message) { setStatus(tr("Scoring: %1").arg(message), true); });
  connect(scorer_, &RewardScorer::scored, this, [this](qint64 promptId, const QList<qint64>& ids, const QList<double>& values) {
    std::map<qint64, double> scores;
    for (int i = 0; i < ids.size(); ++i) scores[ids[i]] = values[i];
    session_->setScores(promptId, scores);
  });

  if (context_) {
    connect(context_, &gui::WorkbenchContext::workspaceChanged, this, &AnnotatePage::onWorkspaceChanged);
    QSettings* s = context_->settings();
    annotator_->setText(s ? s->value(kKeyAnnotator, qEnvironmentVariable("USER")).toString() : qEnvironmentVariable("USER"));
    if (s) {
      perPrompt_->setValue(s->value(kKeyPerPrompt, 2).toInt());
      maxTokens_->setValue(s->value(kKeyMaxTokens, 96).toInt());
      mode_->setCurrentIndex(s->value(kKeyMode, 0).toInt());
    }
  }
  session_->setAnnotator(annotator_->text());
  onWorkspaceChanged();
  updateButtons();
}

AnnotatePage::~AnnotatePage() {
  generation_->cancel();
  saveSettings();
}

// ---------------------------------------------------------------- workspace and sets

void AnnotatePage::onWorkspaceChanged() {
  generation_->cancel();
  scorer_->clear();
  reward_->setText(tr("Reward model…"));
  session_->setWorkspace(context_ ? context_->workspace() : nullptr);
  refillModels();
  // Open the remembered set, else the first that has prompts.
  const qint64 remembered = context_ && context_->settings() ? context_->settings()->value(kKeySet, 0).toLongLong() : 0;
  qint64 pick = 0;
  for (const auto& s : session_->promptSets()) {
    if (s.id == remembered) pick = s.id;
    if (!pick && s.prompts > 0) pick = s.id;
  }
  if (!pick && !session_->promptSets().isEmpty()) pick = session_->promptSets().front().id;
  if (pick) selectPromptSet(pick);
  showCurrent();
  updateButtons();
}

void AnnotatePage::refillSets() {
  filling_ = true;
  sets_->clear();
  for (const auto& s : session_->promptSets())
    sets_->addItem(tr("%1 (%2 prompts)").arg(s.name).arg(s.prompts), QVariant::fromValue(s.id));
  const int index = sets_->findData(QVariant::fromValue(session_->promptSetId()));
  sets_->setCurrentIndex(index);
  filling_ = false;
}

void AnnotatePage::refillModels() {
  QSettings* s = context_ ? context_->settings() : nullptr;
  const QString a = modelA_->currentText().isEmpty() && s ? s->value(kKeyModelA).toString() : modelA_->currentText();
  const QString b = modelB_->currentText().isEmpty() && s ? s->value(kKeyModelB).toString() : modelB_->currentText();
  modelA_->clear();
  modelB_->clear();
  modelB_->addItem(QString());
  if (auto ws = session_->workspace()) {
    if (auto cks = ws->list_present_checkpoints(); cks.is_ok())
      for (const auto& c : *cks) {
        const QString path = QString::fromStdString(ws->resolve(c.path).string());
        for (QComboBox* combo : {modelA_, modelB_}) {
          combo->addItem(path);
          combo->setItemData(combo->count() - 1, QString::fromStdString(c.name), Qt::ToolTipRole);
        }
      }
  }
  setModels(a, b);
}

void AnnotatePage::setModels(const QString& modelA, const QString& modelB) {
  modelA_->setCurrentText(modelA);
  modelB_->setCurrentText(modelB);
}

QStringList AnnotatePage::models() const {
  QStringList out;
  for (QComboBox* c : {modelA_, modelB_})
    if (!c->currentText().trimmed().isEmpty()) out << c->currentText().trimmed();
  return out;
}

void AnnotatePage::setCandidatesPerPrompt(int n) { perPrompt_->setValue(n); }
void AnnotatePage::setMaxNewTokens(int n) { maxTokens_->setValue(n); }

void AnnotatePage::setAnnotator(const QString& name) {
  annotator_->setText(name);
  session_->setAnnotator(name);
}

bool AnnotatePage::selectPromptSet(qint64 id) {
  QString error;
  if (!session_->setPromptSet(id, &error)) {
    setStatus(error, true);
    return false;
  }
  refillSets();
  if (context_ && context_->settings()) context_->settings()->setValue(kKeySet, id);
  if (scorer_->available())
    for (int r = 0; r < session_->rowCount(); ++r) scheduleScoring(session_->item(r).promptId);
  updateProgress();
  return true;
}

bool AnnotatePage::importPrompts(const QString& file, QString* error) {
  auto ws = session_->workspace();
  if (!ws) return *error = tr("No workspace is open."), false;
  prefs::PrefStore store(*ws);
  auto set = store.find_or_create_prompt_set(QFileInfo(file).completeBaseName().toStdString());
  if (!set.is_ok()) return *error = QString::fromStdString(set.status().message()), false;
  auto report = prefs::import_prompts(store, *set, file.toStdString());
  if (!report.is_ok()) return *error = QString::fromStdString(report.status().message()), false;
  if (!session_->reload(error)) return false;
  selectPromptSet(*set);
  QString text = tr("%1 prompts added to \"%2\", %3 already there.")
                     .arg(report->added)
                     .arg(QFileInfo(file).completeBaseName())
                     .arg(report->duplicates);
  if (!report->problems.empty())
    text += tr(" Skipped %1 lines: %2").arg(report->problems.size()).arg(QString::fromStdString(report->problems.front()));
  setStatus(text, !report->problems.empty());
  return true;
}

bool AnnotatePage::startGeneration(QString* error, const QList<qint64>& promptIds) {
  auto ws = session_->workspace();
  if (!ws) return *error = tr("No workspace is open."), false;
  if (models().isEmpty()) return *error = tr("Choose a model folder (Model A) to sample candidates from."), false;
  GenerationJob job;
  job.workspaceDir = QString::fromStdString(ws->root().string());
  job.promptSetId = session_->promptSetId();
  job.promptIds = promptIds;
  job.models = models();
  job.sampling.num_candidates = perPrompt_->value();
  job.sampling.max_new_tokens = maxTokens_->value();
  // Leave a core to the GUI thread.
  const int configured = context_ ? context_->torchThreads() : 0;
  job.sampling.threads = configured > 0 ? configured : std::max(1, QThread::idealThreadCount() - 1);
  if (!generation_->start(job, error)) return false;
  saveSettings();
  setStatus(tr("Generating up to %1 candidates per prompt and model in the background…").arg(perPrompt_->value()));
  return true;
}

// ---------------------------------------------------------------- the current item

void AnnotatePage::showCurrent() {
  for (QFrame* f : paneFrames_) f->deleteLater();
  paneFrames_.clear();
  const QueueItem* it = session_->current();
  if (!it) {
    conversation_->setHtml(session_->promptSetId() ? tr("<i>Nothing to show with this filter.</i>")
                                                   : tr("<i>Import prompts or send a conversation from the Playground.</i>"));
    labels_->hide();
    return;
  }
  const prefs::Prompt* p = session_->prompt(it->promptId);
  conversation_->setHtml(p ? conversationHtml(p->messages) : QString());
  std::vector<QString> texts;
  for (qint64 id : it->candidates) {
    const prefs::Candidate* c = session_->candidate(id);
    texts.push_back(c ? QString::fromStdString(c->row.text) : QString());
  }
  std::vector<QString> bodies(texts.size());
  std::vector<QString> similarity(texts.size());
  const bool diff = diff_->isChecked() && texts.size() >= 2;
  for (size_t i = 0; i < texts.size(); ++i) bodies[i] = plainHtml(texts[i]);
  if (diff) {
    // Two candidates: each side marks what the other lacks. More: each is compared with 1.
    for (size_t i = 1; i < texts.size(); ++i) {
      const DiffHtml d = diffHtml(texts[0], texts[i]);
      if (texts.size() == 2) bodies[0] = d.left;
      bodies[i] = d.right;
      similarity[i] = tr(" · %1% same words as 1").arg(int(d.similarity * 100 + 0.5));
    }
  }
  auto best = session_->best(it->promptId);
  for (size_t i = 0; i < it->candidates.size(); ++i) {
    const prefs::Candidate* c = session_->candidate(it->candidates[i]);
    auto* frame = new QFrame;
    frame->setObjectName(QStringLiteral("candidatePane%1").arg(i + 1));
    frame->setFrameShape(QFrame::StyledPanel);
    frame->setMinimumWidth(260);
    auto* v = new QVBoxLayout(frame);
    v->setContentsMargins(6, 6, 6, 6);
    QString header = QStringLiteral("<b style=\"font-size:14pt\">%1</b>").arg(i + 1);
    if (c) {
      header += QStringLiteral(" &nbsp;%1").arg(session_->checkpointName(c->row.checkpoint_id).toHtmlEscaped());
      if (c->row.seed) header += tr(" · seed %1").arg(*c->row.seed);
      if (c->meta.contains("tokens")) header += tr(" · %1 tokens").arg(c->meta["tokens"].get<int64_t>());
      if (auto s = session_->score(c->row.id)) {
        header += tr(" · reward %1").arg(*s, 0, 'f', 3);
        if (best && best->first == c->row.id) header += QStringLiteral(" <span style=\"color:#c77800\">★ best of %1</span>").arg(session_->candidatesOf(it->promptId).size());
      }
      header += similarity[i];
    }
    auto* title = new QLabel(header, frame);
    title->setObjectName(QStringLiteral("candidateHeader"));
    title->setWordWrap(true);
    v->addWidget(title);
    auto* body = new QTextBrowser(frame);
    body->setObjectName(QStringLiteral("candidateText"));
    body->setHtml(bodies[i]);
    v->addWidget(body, 1);
    panes_->addWidget(frame, 1);
    paneFrames_.push_back(frame);
  }
  if (it->state == ItemState::kWaiting) {
    auto* frame = new QFrame;
    auto* v = new QVBoxLayout(frame);
    v->addWidget(new QLabel(generation_->busy() ? tr("Waiting for candidates: generating…")
                                                : tr("Waiting for candidates: choose a model and press Generate."), frame));
    panes_->addWidget(frame, 1);
    paneFrames_.push_back(frame);
  }
  const QStringList others = session_->labelsOf(*it);
  labels_->setVisible(!others.isEmpty());
  labels_->setText((it->disagreement ? tr("<b style=\"color:#c62828\">Annotators disagree:</b> ") : tr("<b>Labels so far:</b> ")) +
                   others.join(QStringLiteral(" · ")).toHtmlEscaped());
}

void AnnotatePage::updateProgress() {
  const QueueProgress p = session_->progress();
  progress_->setRange(0, std::max(1, p.items));
  progress_->setValue(p.labelled);
  // An empty queue reads "0 of 0", not the range's placeholder maximum.
  progress_->setFormat(tr("%1 of %2 labelled").arg(p.labelled).arg(p.items));
  QString text = tr("%1 items, %2 labelled by %3, %4 to go").arg(p.items).arg(p.labelled)
                     .arg(session_->annotator().isEmpty() ? tr("(no annotator)") : session_->annotator())
                     .arg(p.items - p.labelled);
  if (p.skipped) text += tr(", %1 skipped").arg(p.skipped);
  if (p.waiting) text += tr("; %1 prompts waiting for candidates").arg(p.waiting);
  const QStringList who = session_->annotators();
  if (who.size() > 1) text += tr("; annotators: %1; disagreement on %2").arg(who.join(QStringLiteral(", "))).arg(p.disagreements);
  progressLabel_->setText(text);
  updateButtons();
}

void AnnotatePage::updateButtons() {
  const QueueItem* it = session_->current();
  const bool ready = it && it->state != ItemState::kWaiting;
  const bool pairwise = session_->mode() == Mode::kPairwise;
  for (QPushButton* b : decisionButtons_) {
    const QString n = b->objectName();
    if (n == QLatin1String("undo")) b->setEnabled(session_->workspace() != nullptr);
    else if (n == QLatin1String("choose1") || n == QLatin1String("choose2") || n == QLatin1String("tie")) b->setEnabled(ready && pairwise);
    else b->setEnabled(ready);
  }
  generate_->setEnabled(!generation_->busy() && session_->promptSetId() != 0);
  stop_->setEnabled(generation_->busy());
  if (!pairwise && it && it->candidates.size() >= 2) {
    QStringList order;
    for (int d : rankBuffer_) order << QString::number(d + 1);
    rankLabel_->setText(rankBuffer_.empty() ? tr("Rank: press the numbers best first (1–%1)").arg(it->candidates.size())
                                            : tr("Rank: %1  (Enter saves, Backspace restarts)").arg(order.join(QStringLiteral(" > "))));
  } else {
    rankLabel_->clear();
  }
}

void AnnotatePage::setStatus(const QString& text, bool error) {
  status_->setStyleSheet(error ? QStringLiteral("color:#c62828") : QString());
  status_->setText(text);
  if (context_ && error) context_->logWarning(QStringLiteral("annotate"), text);
}

QString AnnotatePage::statusText() const { return status_->text(); }

// ---------------------------------------------------------------- decisions

void AnnotatePage::decide(const std::function<bool(QString*)>& action) {
  QString error;
  if (!action(&error)) setStatus(error, true);
}

void AnnotatePage::onDigit(int digit) {
  const QueueItem* it = session_->current();
  if (!it) return;
  if (session_->mode() == Mode::kPairwise) {
    if (digit <= 2) decide([this, digit](QString* e) { return session_->choose(digit - 1, e); });
    return;
  }
  const int k = int(it->candidates.size());
  if (digit > k || std::find(rankBuffer_.begin(), rankBuffer_.end(), digit - 1) != rankBuffer_.end()) return;
  rankBuffer_.push_back(digit - 1);
  if (int(rankBuffer_.size()) == k) {
    const std::vector<int> order = rankBuffer_;
    rankBuffer_.clear();
    decide([this, order](QString* e) { return session_->rank(order, e); });
  }
  updateButtons();
}

bool AnnotatePage::editCurrent(int displayIndex, const QString& text, QString* error) {
  return session_->edit(displayIndex, text, error);
}

void AnnotatePage::askEdit() {
  const QueueItem* it = session_->current();
  if (!it || it->candidates.empty()) return;
  // Candidates may stream in while the dialog is open: keep copies, not the item.
  const QString key = it->key();
  const std::vector<qint64> ids = it->candidates;
  QDialog dialog(this);
  dialog.setWindowTitle(tr("Repair a candidate"));
  auto* form = new QFormLayout(&dialog);
  auto* which = new QComboBox(&dialog);
  for (size_t i = 0; i < ids.size(); ++i) which->addItem(tr("Candidate %1").arg(i + 1));
  auto* text = new QPlainTextEdit(&dialog);
  auto* reason = new QLineEdit(reason_->text(), &dialog);
  auto fill = [this, ids, text](int i) {
    if (const prefs::Candidate* c = session_->candidate(ids[size_t(i)])) text->setPlainText(QString::fromStdString(c->row.text));
  };
  connect(which, &QComboBox::currentIndexChanged, &dialog, fill);
  fill(0);
  form->addRow(tr("Candidate"), which);
  form->addRow(tr("Repaired text"), text);
  form->addRow(tr("Reason"), reason);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, &dialog);
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  form->addRow(buttons);
  dialog.resize(640, 420);
  if (dialog.exec() != QDialog::Accepted) return;
  if (!session_->current() || session_->current()->key() != key) {
    setStatus(tr("The item changed while editing; nothing was saved."), true);
    return;
  }
  session_->setReason(reason->text());
  decide([this, &which, &text](QString* e) { return editCurrent(which->currentIndex(), text->toPlainText(), e); });
}

bool AnnotatePage::continueCurrent(const QString& userText, QString* error) {
  auto chosen = session_->preferredCandidate();
  if (!chosen) return *error = tr("Choose the better reply first: the branch continues the chosen one."), false;
  const qint64 prompt = session_->continueBranch(*chosen, userText, error);
  if (!prompt) return false;
  if (models().isEmpty()) {
    setStatus(tr("New turn added as prompt %1; choose a model and press Generate for its candidates.").arg(prompt));
    return true;
  }
  if (generation_->busy()) {
    setStatus(tr("New turn added as prompt %1; press Generate when the running generation ends.").arg(prompt));
    return true;
  }
  return startGeneration(error, {prompt});
}

void AnnotatePage::askContinue() {
  if (!session_->current()) return;
  bool ok = false;
  const QString text = QInputDialog::getMultiLineText(this, tr("Continue the chosen reply"),
                                                      tr("Next user turn (the chosen reply is appended before it):"), QString(), &ok);
  if (!ok || text.trimmed().isEmpty()) return;
  decide([this, text](QString* e) { return continueCurrent(text, e); });
}

bool AnnotatePage::exportPairs(const QString& file, bool messagesForm, QString* error) {
  auto ws = session_->workspace();
  if (!ws) return *error = tr("No workspace is open."), false;
  prefs::PrefStore store(*ws);
  prefs::ExportOptions o;
  o.prompt_set_id = session_->promptSetId();
  o.format = messagesForm ? prefs::PairFormat::kMessages : prefs::PairFormat::kText;
  auto report = prefs::export_preferences(store, file.toStdString(), o);
  if (!report.is_ok()) return *error = QString::fromStdString(report.status().message()), false;
  setStatus(tr("Wrote %1 pairs to %2 (%3 ties left out).").arg(report->lines).arg(file).arg(report->ties_left_out));
  return true;
}

// ---------------------------------------------------------------- scoring

void AnnotatePage::chooseRewardModel() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Reward model folder (LlamaForSequenceClassification or a reward checkpoint)"),
                                                        context_ ? context_->dialogDir(QStringLiteral("runs")) : QString());
  if (dir.isEmpty()) return;
  setStatus(tr("Loading reward model %1…").arg(dir));
  scorer_->loadModel(dir);
}

void AnnotatePage::scheduleScoring(qint64 promptId) {
  if (!scorer_->available()) return;
  pendingScores_.insert(promptId);
  if (!scoreTimer_.isActive()) scoreTimer_.start();
}

void AnnotatePage::flushScoring() {
  for (qint64 pid : pendingScores_) {
    const prefs::Prompt* p = session_->prompt(pid);
    if (!p) continue;
    std::vector<std::pair<qint64, std::string>> cands;
    for (const prefs::Candidate* c : session_->candidatesOf(pid)) cands.emplace_back(c->row.id, c->row.text);
    if (!cands.empty()) scorer_->score(pid, p->messages, cands);
  }
  pendingScores_.clear();
}

// ---------------------------------------------------------------- settings

void AnnotatePage::browseModel(QComboBox* combo) {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Model folder"), combo->currentText());
  if (!dir.isEmpty()) combo->setCurrentText(dir);
}

void AnnotatePage::saveSettings() {
  QSettings* s = context_ ? context_->settings() : nullptr;
  if (!s) return;
  s->setValue(kKeyAnnotator, annotator_->text());
  s->setValue(kKeyModelA, modelA_->currentText());
  s->setValue(kKeyModelB, modelB_->currentText());
  s->setValue(kKeyPerPrompt, perPrompt_->value());
  s->setValue(kKeyMaxTokens, maxTokens_->value());
  s->setValue(kKeyMode, mode_->currentIndex());
}

}  // namespace kanana::annotate
