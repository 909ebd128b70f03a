// See jobs_page.h.
#include "jobs_page.h"

#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFrame>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollBar>
#include <QSettings>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>
#include <cmath>

#include "desktop_notifier.h"
#include "file_follower.h"
#include "jobs/job_status.h"
#include "sdk/job_service.h"
#include "sdk/options_form.h"
#include "serve/serve_options.h"
#include "recipe_editor.h"
#include "run_charts.h"
#include "sdk/workbench_context.h"
#include "target_picker.h"

namespace kanana::jobsplugin {

namespace {

// One colour per charted run, in the order runs are added (distinct on light backgrounds).
const QColor kRunPalette[] = {QColor(0x2f, 0x6f, 0xeb), QColor(0xe0, 0x6c, 0x1f), QColor(0x2a, 0x9d, 0x5c),
                              QColor(0xc2, 0x3b, 0x8f), QColor(0x7a, 0x4f, 0xe0), QColor(0x8a, 0x8f, 0x1c),
                              QColor(0x1f, 0xa3, 0xb5), QColor(0x9c, 0x5a, 0x2b)};
constexpr int kLogBlocks = 5000;

const char* kSelectionKey = "jobs/selection";
const char* kSelectionWorkspaceKey = "jobs/selectionWorkspace";

QPlainTextEdit* logView(QWidget* parent, const QString& name) {
  auto* v = new QPlainTextEdit(parent);
  v->setObjectName(name);
  v->setReadOnly(true);
  v->setMaximumBlockCount(kLogBlocks);
  v->setLineWrapMode(QPlainTextEdit::NoWrap);
  v->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  return v;
}

// Appends keeping the view at the bottom only if it was there (reading back stays put).
void appendLines(QPlainTextEdit* view, const QString& text) {
  QScrollBar* bar = view->verticalScrollBar();
  const bool atEnd = bar->value() >= bar->maximum() - 2;
  QString t = text;
  if (t.endsWith(QLatin1Char('\n'))) t.chop(1);
  view->appendPlainText(t);
  if (atEnd) bar->setValue(bar->maximum());
}

}  // namespace

JobsPage::JobsPage(gui::WorkbenchContext* context, QWidget* parent)
    : QWidget(parent), context_(context), jobs_(context ? context->jobService() : new gui::JobService(this)), notifier_(new DesktopNotifier(this)),
      model_(new RunsModel(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  banner_ = new QFrame(this);
  banner_->setObjectName(QStringLiteral("jobsBanner"));
  banner_->setFrameShape(QFrame::StyledPanel);
  auto* bannerLayout = new QHBoxLayout(banner_);
  bannerLayout->setContentsMargins(8, 4, 8, 4);
  bannerLabel_ = new QLabel(banner_);
  bannerLabel_->setWordWrap(true);
  auto* closeBanner = new QPushButton(tr("Dismiss"), banner_);
  bannerLayout->addWidget(bannerLabel_, 1);
  bannerLayout->addWidget(closeBanner);
  banner_->hide();
  connect(closeBanner, &QPushButton::clicked, banner_, &QWidget::hide);
  layout->addWidget(banner_);

  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(buildQueue());
  tabs_ = new QTabWidget(split);
  tabs_->addTab(buildMonitor(), tr("Monitor"));
  tabs_->addTab(buildLauncher(), tr("New run"));
  split->addWidget(tabs_);
  split->setStretchFactor(0, 0);
  split->setStretchFactor(1, 1);
  split->setSizes({360, 900});
  layout->addWidget(split, 1);

  connect(jobs_, &gui::JobService::runsListed, this, &JobsPage::applyRuns);
  connect(jobs_, &gui::JobService::launched, this, [this](quint64 ticket, qint64 id, const QString& dir) {
    if (!tickets_.remove(ticket)) return;  // another page's launch
    launching_ = false;
    launchStatus_->setStyleSheet(QStringLiteral("color: #2a8a4a;"));
    launchStatus_->setText(tr("Run %1 launched in %2").arg(id).arg(dir));
    if (context_) context_->logInfo(QStringLiteral("jobs"), tr("run %1 launched: %2").arg(id).arg(dir));
    selectAfterRefresh_ = id;
    updateButtons();
    Q_EMIT runLaunched(id);
  });
  connect(jobs_, &gui::JobService::launchFailed, this, [this](quint64 ticket, const QString& error) {
    if (!tickets_.remove(ticket)) return;
    launching_ = false;
    launchStatus_->setStyleSheet(QStringLiteral("color: #c03030;"));
    launchStatus_->setText(tr("Launch failed: %1").arg(error));
    if (context_) context_->logError(QStringLiteral("jobs"), tr("launch failed: %1").arg(error));
    updateButtons();
    Q_EMIT launchFailed(error);
  });
  connect(jobs_, &gui::JobService::actionFinished, this,
          [this](const QString& action, qint64 id, qint64 newId, const QString& error) {
            if (!error.isEmpty()) {
              showBanner(tr("Could not %1 run %2").arg(action).arg(id), error, true);
              if (context_) context_->logError(QStringLiteral("jobs"), tr("%1 run %2: %3").arg(action).arg(id).arg(error));
            } else if (action == QStringLiteral("resume") && newId) {
              selectAfterRefresh_ = newId;
              if (context_) context_->logInfo(QStringLiteral("jobs"), tr("run %1 resumed as run %2").arg(id).arg(newId));
            }
            Q_EMIT actionFinished(action, id, newId, error);
          });
  connect(jobs_, &gui::JobService::workspaceError, this, [this](const QString& error) {
    if (context_) context_->logError(QStringLiteral("jobs"), error);
  });
  connect(notifier_, &DesktopNotifier::bannerRequested, this, &JobsPage::showBanner);

  if (context_) {
    picker_->load(context_->settings());
    connect(context_, &gui::WorkbenchContext::workspaceChanged, this, &JobsPage::openWorkspace);
    openWorkspace(context_->workspacePath());
  } else {
    openWorkspace(QString());
  }
}

JobsPage::~JobsPage() {
  if (context_) picker_->save(context_->settings());
  // Followers are children; series go with the map.
  qDeleteAll(watched_);
  watched_.clear();
}

QWidget* JobsPage::buildQueue() {
  auto* w = new QWidget(this);
  auto* layout = new QVBoxLayout(w);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* title = new QLabel(tr("<b>Runs</b> — select one to watch, several to compare"), w);
  layout->addWidget(title);
  table_ = new QTableView(w);
  table_->setObjectName(QStringLiteral("runsTable"));
  table_->setModel(model_);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->verticalHeader()->hide();
  table_->verticalHeader()->setDefaultSectionSize(22);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->setWordWrap(false);
  table_->setColumnWidth(RunsModel::IdColumn, 36);
  table_->setColumnWidth(RunsModel::NameColumn, 120);
  table_->setColumnWidth(RunsModel::StateColumn, 72);
  table_->setColumnWidth(RunsModel::TargetColumn, 56);
  table_->setColumnWidth(RunsModel::StepColumn, 48);
  table_->setColumnWidth(RunsModel::LossColumn, 56);
  layout->addWidget(table_, 1);
  connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
    if (!applyingSelection_) syncShownRuns();
  });
  connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& index) {
    if (applyingSelection_ || !index.isValid()) return;
    setFocus(model_->data(index, RunsModel::RunIdRole).toLongLong());
  });

  auto* buttons = new QHBoxLayout;
  auto* refresh = new QPushButton(tr("Refresh"), w);
  stop_ = new QPushButton(tr("Stop"), w);
  stop_->setObjectName(QStringLiteral("stopRun"));
  stop_->setToolTip(tr("Cancel the run: SIGTERM to its ranks (SIGKILL after a grace period), scancel under Slurm, "
                       "the same over ssh"));
  resume_ = new QPushButton(tr("Resume"), w);
  resume_->setObjectName(QStringLiteral("resumeRun"));
  resume_->setToolTip(tr("Relaunch the ended run in its folder with --resume: it continues from its last checkpoint"));
  buttons->addWidget(refresh);
  buttons->addStretch(1);
  buttons->addWidget(stop_);
  buttons->addWidget(resume_);
  layout->addLayout(buttons);
  detail_ = new QLabel(w);
  detail_->setObjectName(QStringLiteral("runDetail"));
  detail_->setWordWrap(true);
  detail_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  detail_->setMinimumHeight(60);
  detail_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  layout->addWidget(detail_);
  connect(refresh, &QPushButton::clicked, this, [this] { refreshNow(true); });
  connect(stop_, &QPushButton::clicked, this, [this] { cancelRun(focus_); });
  connect(resume_, &QPushButton::clicked, this, [this] { resumeRun(focus_); });
  w->setMinimumWidth(280);
  return w;
}

QWidget* JobsPage::buildMonitor() {
  auto* split = new QSplitter(Qt::Vertical, this);
  charts_ = new RunCharts(split);
  split->addWidget(charts_);
  logTabs_ = new QTabWidget(split);
  eventsLog_ = logView(logTabs_, QStringLiteral("eventsLog"));
  outputLog_ = logView(logTabs_, QStringLiteral("outputLog"));
  logTabs_->addTab(eventsLog_, tr("Events log"));
  logTabs_->addTab(outputLog_, tr("Output (rank-0.log)"));
  split->addWidget(logTabs_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  return split;
}

QWidget* JobsPage::buildLauncher() {
  auto* split = new QSplitter(Qt::Horizontal, this);
  what_ = new QTabWidget(split);
  what_->setObjectName(QStringLiteral("launchKind"));
  editor_ = new RecipeEditor(what_);
  what_->addTab(editor_, tr("Train a recipe"));
  what_->addTab(buildServeForm(what_), tr("Serve a model"));
  split->addWidget(what_);
  auto* side = new QWidget(split);
  auto* layout = new QVBoxLayout(side);
  layout->setContentsMargins(6, 0, 0, 0);
  auto* box = new QGroupBox(tr("Where"), side);
  auto* boxLayout = new QVBoxLayout(box);
  picker_ = new TargetPicker(box);
  boxLayout->addWidget(picker_);
  layout->addWidget(box);
  auto* row = new QHBoxLayout;
  preview_ = new QPushButton(tr("Show sbatch script"), side);
  launch_ = new QPushButton(tr("Launch"), side);
  launch_->setObjectName(QStringLiteral("launchRun"));
  launch_->setDefault(true);
  row->addWidget(preview_);
  row->addStretch(1);
  row->addWidget(launch_);
  layout->addLayout(row);
  launchStatus_ = new QLabel(side);
  launchStatus_->setObjectName(QStringLiteral("launchStatus"));
  launchStatus_->setWordWrap(true);
  launchStatus_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(launchStatus_);
  layout->addStretch(1);
  split->addWidget(side);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);

  connect(editor_, &RecipeEditor::validated, this, [this] { updateButtons(); });
  connect(serveForm_, &gui::OptionsForm::documentEdited, this, [this] { updateButtons(); });
  connect(what_, &QTabWidget::currentChanged, this, [this] { updateButtons(); });
  connect(picker_, &TargetPicker::changed, this, [this] { updateButtons(); });
  connect(launch_, &QPushButton::clicked, this, [this] {
    QString error;
    if (!launchCurrent(&error)) {
      if (!error.isEmpty()) {
        launchStatus_->setStyleSheet(QStringLiteral("color: #c03030;"));
        launchStatus_->setText(error);
      }
    }
  });
  connect(preview_, &QPushButton::clicked, this, [this] {
    auto plan = currentPlan();
    QDialog dialog(this);
    dialog.setWindowTitle(tr("sbatch script"));
    auto* l = new QVBoxLayout(&dialog);
    auto* text = new QPlainTextEdit(&dialog);
    text->setReadOnly(true);
    text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    text->setPlainText(plan.is_ok() ? plan->sbatchScript : QString::fromStdString(plan.status().message()));
    l->addWidget(text);
    auto* bb = new QDialogButtonBox(QDialogButtonBox::Close, &dialog);
    connect(bb, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    l->addWidget(bb);
    dialog.resize(720, 480);
    dialog.exec();
  });
  return split;
}

QWidget* JobsPage::buildServeForm(QWidget* parent) {
  auto* w = new QWidget(parent);
  auto* l = new QVBoxLayout(w);
  auto* note = new QLabel(tr("Runs <tt>kanana serve</tt> (the OpenAI-compatible server) as a job on the target picked "
                             "on the right, until you stop it. Model folders are paths on the target. The server's URL "
                             "is the first line of its output; it binds to loopback unless <i>host</i> says otherwise "
                             "(0.0.0.0 to reach a cluster node from elsewhere, or forward the port with ssh -L)."),
                          w);
  note->setWordWrap(true);
  l->addWidget(note);
  auto* row = new QHBoxLayout;
  auto* add = new QPushButton(tr("Add model folder…"), w);
  add->setObjectName(QStringLiteral("serveAddModel"));
  row->addWidget(add);
  row->addStretch(1);
  l->addLayout(row);
  serveForm_ = new gui::OptionsForm(w);
  serveForm_->setObjectName(QStringLiteral("serveForm"));
  serveForm_->setSections({gui::optionSection(tr("kanana serve"), {}, serve::serve_fields())});
  l->addWidget(serveForm_, 1);
  connect(add, &QPushButton::clicked, this, [this] {
    const QString start = workspacePath_.isEmpty() ? QDir::homePath() : workspacePath_;
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Model folder (config.json + weights + tokenizer)"), start);
    if (dir.isEmpty()) return;
    gui::OrderedJson doc = serveForm_->document();
    if (!doc.contains("model") || !doc["model"].is_array()) doc["model"] = gui::OrderedJson::array();
    doc["model"].push_back(dir.toStdString());
    serveForm_->setDocument(doc);
    updateButtons();
  });
  return w;
}

bool JobsPage::servingSelected() const { return what_ && what_->currentIndex() == 1; }

Json JobsPage::serveSettings() const { return Json::parse(serveForm_->document().dump()); }

// ---- workspace and snapshots

void JobsPage::openWorkspace(const QString& path) {
  for (qint64 id : QList<qint64>(shownOrder_)) unwatch(id);
  shownOrder_.clear();
  setFocus(0);
  finishWatcher_.clear();
  firstSnapshot_ = true;
  workspacePath_ = path;
  editor_->setWorkspaceDir(path);
  model_->setRuns({});
  // The service follows the context's workspace; this asks for a listing for this page.
  if (!path.isEmpty()) jobs_->refresh(true);
  launchStatus_->setText(path.isEmpty() ? tr("Open a workspace to launch runs: they are recorded there.") : QString());
  updateButtons();
}

void JobsPage::refreshNow(bool poll) { jobs_->refresh(poll); }

void JobsPage::setRefreshInterval(int activeMs, int idleMs) {
  jobs_->setPollIntervals(activeMs, idleMs);
}

void JobsPage::applyRuns(const QString& workspace, const QList<RunRow>& rows) {
  // A listing queued before the current workspace was opened (the refresh timer's) says
  // nothing about it: taking its empty list as the first snapshot would skip re-attachment.
  if (workspace != workspacePath_) return;
  applyingSelection_ = true;
  const QList<qint64> keep = shownOrder_;
  const qint64 focus = focus_;
  model_->setRuns(rows);
  // Put the selection back (a reset model forgets it).
  QItemSelection selection;
  for (qint64 id : keep) {
    const int row = model_->rowOf(id);
    if (row >= 0) selection.select(model_->index(row, 0), model_->index(row, RunsModel::ColumnCount - 1));
  }
  table_->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
  if (model_->rowOf(focus) >= 0)
    table_->selectionModel()->setCurrentIndex(model_->index(model_->rowOf(focus), 0), QItemSelectionModel::NoUpdate);
  applyingSelection_ = false;

  for (const RunNotification& n : finishWatcher_.update(rows)) {
    const NotificationChannel channel = notifier_->notify(n);
    if (context_)
      context_->log(n.failed ? gui::LogLevel::Warning : gui::LogLevel::Info, QStringLiteral("jobs"),
                    QStringLiteral("%1: %2 (notified via %3)").arg(n.title, n.body, QString::fromLatin1(notificationChannelName(channel))));
  }

  QList<qint64> select;
  if (selectAfterRefresh_ && model_->rowOf(selectAfterRefresh_) >= 0) {
    select = {selectAfterRefresh_};
    selectAfterRefresh_ = 0;
    tabs_->setCurrentIndex(0);
  } else if (firstSnapshot_ && !rows.isEmpty()) {
    // Re-attach: what was being watched before, plus every run still going.
    for (qint64 id : savedSelection())
      if (model_->rowOf(id) >= 0) select.append(id);
    for (const RunRow& r : rows)
      if (isActiveState(r.state) && !select.contains(r.id)) select.append(r.id);
    if (select.isEmpty()) select = {rows.first().id};
  }
  if (!rows.isEmpty() || !workspacePath_.isEmpty()) {
    if (firstSnapshot_ && rows.isEmpty()) tabs_->setCurrentIndex(1);  // nothing to watch yet: start with a recipe
    firstSnapshot_ = false;
  }
  if (!select.isEmpty()) selectRuns(select);
  // Labels follow renamed/refreshed runs.
  for (qint64 id : shownOrder_) charts_->setRun(id, runLabel(id), colorFor(id));
  updateDetail();
  updateButtons();
  Q_EMIT runsUpdated();
}

void JobsPage::selectRuns(const QList<qint64>& ids) {
  applyingSelection_ = true;
  QItemSelection selection;
  for (qint64 id : ids) {
    const int row = model_->rowOf(id);
    if (row >= 0) selection.select(model_->index(row, 0), model_->index(row, RunsModel::ColumnCount - 1));
  }
  table_->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
  if (!ids.isEmpty() && model_->rowOf(ids.first()) >= 0)
    table_->selectionModel()->setCurrentIndex(model_->index(model_->rowOf(ids.first()), 0), QItemSelectionModel::NoUpdate);
  applyingSelection_ = false;
  syncShownRuns();
  if (!ids.isEmpty() && model_->rowOf(ids.first()) >= 0) setFocus(ids.first());
}

void JobsPage::syncShownRuns() {
  QList<qint64> selected;
  for (const QModelIndex& index : table_->selectionModel()->selectedRows())
    selected.append(model_->data(index, RunsModel::RunIdRole).toLongLong());
  std::sort(selected.begin(), selected.end());
  for (qint64 id : QList<qint64>(shownOrder_))
    if (!selected.contains(id)) unwatch(id);
  for (qint64 id : selected)
    if (!watched_.contains(id)) watch(id);
  if (!shownOrder_.contains(focus_)) setFocus(shownOrder_.isEmpty() ? 0 : shownOrder_.first());
  saveSelection();
  updateButtons();
}

// ---- following runs

QColor JobsPage::colorFor(qint64 runId) const {
  const QColor existing = charts_->runColor(runId);
  if (existing.isValid() && charts_->runs().contains(runId)) return existing;
  // First palette colour no charted run uses.
  for (const QColor& c : kRunPalette) {
    bool used = false;
    for (qint64 id : charts_->runs()) used |= charts_->runColor(id) == c;
    if (!used) return c;
  }
  return kRunPalette[runId % std::size(kRunPalette)];
}

QString JobsPage::runLabel(qint64 runId) const {
  const RunRow* r = model_->run(runId);
  return r ? QStringLiteral("%1 · %2").arg(runId).arg(r->name) : QString::number(runId);
}

void JobsPage::watch(qint64 runId) {
  const RunRow* row = model_->run(runId);
  if (!row) return;
  auto* w = new Watched;
  watched_.insert(runId, w);
  shownOrder_.append(runId);
  charts_->setRun(runId, runLabel(runId), colorFor(runId));
  const QString path = row->localDir + QStringLiteral("/") + QString::fromLatin1(jobs::kEventsFileName);
  w->events = new FileFollower(path, this);
  connect(w->events, &FileFollower::linesRead, this,
          [this, runId](const QByteArray& data, quint64 firstLine) { onEventLines(runId, data, firstLine); });
  connect(w->events, &FileFollower::reset, this, [this, runId] { onEventsReset(runId); });
  w->events->start();
}

void JobsPage::unwatch(qint64 runId) {
  Watched* w = watched_.take(runId);
  shownOrder_.removeAll(runId);
  charts_->removeRun(runId);
  if (!w) return;
  if (w->events) {
    w->events->stop();
    w->events->deleteLater();
  }
  delete w;
}

const RunSeries* JobsPage::series(qint64 runId) const {
  const Watched* w = watched_.value(runId);
  return w ? &w->series : nullptr;
}

void JobsPage::onEventLines(qint64 runId, const QByteArray& data, quint64 firstLine) {
  Watched* w = watched_.value(runId);
  if (!w) return;
  ParsedEvents parsed = parseEventLines(data, firstLine);
  QSet<QString> changed;
  const qsizetype logBefore = w->series.log().size();
  for (const jobs::Event& e : parsed.events) changed.unite(w->series.add(e));
  w->series.addCorrupt(parsed.corrupt.size());
  for (const QString& metric : changed) charts_->sync(runId, metric, w->series.metrics().value(metric));
  if (runId == focus_) {
    QString text;
    for (qsizetype i = logBefore; i < w->series.log().size(); ++i) text += RunSeries::formatLog(w->series.log()[i]) + QLatin1Char('\n');
    for (const QString& c : parsed.corrupt) text += QStringLiteral("skipped: ") + c + QLatin1Char('\n');
    if (!text.isEmpty()) appendLines(eventsLog_, text);
    updateDetail();
  }
}

void JobsPage::onEventsReset(qint64 runId) {
  Watched* w = watched_.value(runId);
  if (!w) return;
  w->series.clear();
  charts_->clearRun(runId);
  if (runId == focus_) {
    eventsLog_->clear();
    appendLines(eventsLog_, tr("(events.jsonl was truncated or replaced: reading it again from the start)"));
  }
}

void JobsPage::setFocus(qint64 runId) {
  if (runId == focus_) {
    updateDetail();
    return;
  }
  focus_ = runId;
  eventsLog_->clear();
  outputLog_->clear();
  if (output_) {
    output_->stop();
    output_->deleteLater();
    output_ = nullptr;
  }
  const RunRow* row = model_->run(runId);
  if (row) {
    if (const Watched* w = watched_.value(runId)) {
      QString text;
      for (const LogLine& l : w->series.log()) text += RunSeries::formatLog(l) + QLatin1Char('\n');
      if (!text.isEmpty()) appendLines(eventsLog_, text);
    }
    const bool remote = row->target == QStringLiteral("ssh") || (row->target == QStringLiteral("slurm") && !row->host.isEmpty() &&
                                                                  row->runDir != row->localDir);
    if (remote && row->target == QStringLiteral("ssh")) {
      outputLog_->setPlainText(tr("The ranks' output stays on %1: %2/%3 (events are mirrored here).")
                                   .arg(row->host, row->runDir, QString::fromStdString(jobs::rank_log_name(0))));
    } else {
      output_ = new FileFollower(row->localDir + QStringLiteral("/") + QString::fromStdString(jobs::rank_log_name(0)), this);
      connect(output_, &FileFollower::linesRead, this,
              [this](const QByteArray& data, quint64) { appendLines(outputLog_, QString::fromUtf8(data)); });
      connect(output_, &FileFollower::reset, outputLog_, &QPlainTextEdit::clear);
      output_->start();
    }
  }
  updateDetail();
  updateButtons();
}

void JobsPage::updateDetail() {
  const RunRow* r = model_->run(focus_);
  if (!r) {
    detail_->setText(workspacePath_.isEmpty() ? tr("No workspace is open.") : tr("No run selected."));
    return;
  }
  QString html = QStringLiteral("<b>Run %1</b> · %2 (%3) · <span style=\"color:%4\"><b>%5</b></span>")
                     .arg(r->id)
                     .arg(r->name.toHtmlEscaped(), r->kind.toHtmlEscaped(), RunsModel::stateColor(r->state).name(), r->state);
  const RunSeries* s = series(r->id);
  const qint64 step = s && s->lastStep() ? *s->lastStep() : r->lastStep;
  if (step >= 0) html += tr(" · step %1").arg(step);
  if (s && s->corruptLines()) html += tr(" · %1 unreadable event line(s) skipped").arg(s->corruptLines());
  html += QStringLiteral("<br><small>%1%2</small>")
              .arg(r->target.toHtmlEscaped(), r->host.isEmpty() ? QString() : QStringLiteral(" @ ") + r->host.toHtmlEscaped());
  html += QStringLiteral("<br><small>%1</small>").arg(r->runDir.toHtmlEscaped());
  if (r->kind == QLatin1String(jobs::kServeJobKind) && isActiveState(r->state)) {
    // `kanana serve` says "serving on URL" in its output (rank-0.log, followed below).
    static const QRegularExpression serving(QStringLiteral("serving on (\\S+)"));
    const auto m = serving.match(outputLog_->toPlainText());
    html += QStringLiteral("<br>%1").arg(m.hasMatch() ? tr("Serving at <b>%1</b>").arg(m.captured(1).toHtmlEscaped())
                                                      : tr("Server starting (loading the model)…"));
  }
  if (!r->reason.isEmpty() && !isActiveState(r->state) && r->state != QStringLiteral("finished"))
    html += QStringLiteral("<br><span style=\"color:#c03030\">%1</span>").arg(r->reason.toHtmlEscaped());
  if (!r->pollError.isEmpty())
    html += QStringLiteral("<br><span style=\"color:#b07010\">%1</span>")
                .arg(tr("cannot reach the job right now (state kept): %1").arg(r->pollError).toHtmlEscaped());
  detail_->setText(html);
}

QString JobsPage::detailText() const { return detail_->text(); }

void JobsPage::updateButtons() {
  const RunRow* r = model_->run(focus_);
  stop_->setEnabled(r && r->hasHandle && isActiveState(r->state));
  resume_->setEnabled(r && r->hasHandle && (r->state == QStringLiteral("failed") || r->state == QStringLiteral("cancelled")));
  const LaunchTarget t = picker_->target();
  preview_->setVisible(t.kind == jobs::TargetKind::kSlurm);
  const bool ready = servingSelected() ? readServeSettings(serveSettings()).is_ok() : editor_->lastCheck().ok;
  launch_->setEnabled(!launching_ && !workspacePath_.isEmpty() && ready);
  launch_->setText(t.kind == jobs::TargetKind::kSlurm ? tr("Submit…") : tr("Launch"));
}

void JobsPage::saveSelection() const {
  if (!context_ || !context_->settings() || workspacePath_.isEmpty()) return;
  QVariantList ids;
  for (qint64 id : shownOrder_) ids.append(id);
  context_->settings()->setValue(QLatin1String(kSelectionKey), ids);
  context_->settings()->setValue(QLatin1String(kSelectionWorkspaceKey), workspacePath_);
}

QList<qint64> JobsPage::savedSelection() const {
  QList<qint64> out;
  if (!context_ || !context_->settings()) return out;
  if (context_->settings()->value(QLatin1String(kSelectionWorkspaceKey)).toString() != workspacePath_) return out;
  for (const QVariant& v : context_->settings()->value(QLatin1String(kSelectionKey)).toList()) out.append(v.toLongLong());
  return out;
}

// ---- actions

Result<LaunchPlan> JobsPage::currentPlan() const {
  if (workspacePath_.isEmpty()) return failed_precondition("open a workspace first: runs are recorded there");
  if (servingSelected()) {
    LaunchRequest req;
    req.serve = serveSettings();
    const auto settings = readServeSettings(*req.serve);
    req.runName = QString::fromStdString(settings.is_ok() ? defaultServeName(*settings) : "serve");
    req.runFolder = makeRunFolder(req.runName);
    req.workspaceRunsDir = workspacePath_ + QStringLiteral("/runs");
    req.kananaBinary = jobs_->kananaBinary();
    req.target = picker_->target();
    return planLaunch(req);
  }
  const RecipeCheck& check = editor_->lastCheck();
  if (!check.ok) return invalid_argument("the recipe is not valid: " + check.message.toStdString());
  LaunchRequest req;
  req.recipe = editor_->recipeJson();
  req.recipeBaseDir = editor_->baseDir();
  req.recipePath = editor_->filePath();
  req.runName = check.name.isEmpty() ? QStringLiteral("run") : check.name;
  req.runFolder = makeRunFolder(req.runName);
  req.workspaceRunsDir = workspacePath_ + QStringLiteral("/runs");
  req.kananaBinary = jobs_->kananaBinary();
  req.target = picker_->target();
  return planLaunch(req);
}

bool JobsPage::launchCurrent(QString* error, bool confirmSbatch) {
  const bool serving = servingSelected();
  const RecipeCheck check = serving ? RecipeCheck{.ok = true} : editor_->validateNow();
  if (!check.ok) {
    if (error) *error = tr("Fix the recipe first: %1").arg(check.message);
    return false;
  }
  auto plan = currentPlan();
  if (!plan.is_ok()) {
    if (error) *error = QString::fromStdString(plan.status().message());
    return false;
  }
  // Files missing here only matter for a job that runs here.
  const bool here = plan->spec.target.kind == jobs::TargetKind::kLocal ||
                    (plan->spec.target.kind == jobs::TargetKind::kSlurm && plan->spec.target.host.empty());
  QStringList missing = check.warnings;
  if (serving)
    if (auto settings = readServeSettings(plan->recipeForTarget); settings.is_ok())
      for (const auto& m : settings->models)
        if (!QFileInfo(QString::fromStdString(serve::split_model_spec(m).second.string())).isDir())
          missing << QString::fromStdString(m);
  if (here && !missing.isEmpty()) {
    if (error)
      *error = tr("The %1 names files that do not exist on this machine: %2")
                   .arg(serving ? tr("server") : tr("recipe"), missing.join(QStringLiteral("; ")));
    return false;
  }
  if (plan->spec.target.kind == jobs::TargetKind::kSlurm && confirmSbatch) {
    QDialog dialog(this);
    dialog.setWindowTitle(tr("Submit to Slurm"));
    auto* l = new QVBoxLayout(&dialog);
    l->addWidget(new QLabel(tr("This script will be submitted with sbatch in %1:").arg(plan->runDir), &dialog));
    auto* text = new QPlainTextEdit(&dialog);
    text->setReadOnly(true);
    text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    text->setPlainText(plan->sbatchScript);
    l->addWidget(text);
    auto* bb = new QDialogButtonBox(QDialogButtonBox::Cancel, &dialog);
    bb->addButton(tr("Submit"), QDialogButtonBox::AcceptRole);
    connect(bb, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(bb, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    l->addWidget(bb);
    dialog.resize(720, 480);
    if (dialog.exec() != QDialog::Accepted) return false;
  }
  if (context_) picker_->save(context_->settings());
  launching_ = true;
  launchStatus_->setStyleSheet(QString());
  launchStatus_->setText(tr("Launching %1 on %2…").arg(QString::fromStdString(plan->spec.name),
                                                       QString::fromLatin1(jobs::target_kind_name(plan->spec.target.kind))));
  updateButtons();
  gui::JobLaunch launch;
  launch.spec = plan->spec;
  launch.localDir = plan->localDir;
  launch.remoteDir = plan->runDir;  // sent there for jobs on another host
  launch.files = {{plan->fileName, QByteArray::fromStdString(plan->recipeForTarget.dump(2) + "\n")}};
  tickets_.insert(jobs_->launch(launch));
  return true;
}

void JobsPage::cancelRun(qint64 runId) {
  const RunRow* r = model_->run(runId);
  if (!r || !isActiveState(r->state)) return;
  if (confirmActions_ &&
      QMessageBox::question(this, tr("Stop run"), tr("Stop run %1 (%2)? A checkpoint is written if the trainer gets the chance.")
                                                      .arg(runId)
                                                      .arg(r->name)) != QMessageBox::Yes)
    return;
  jobs_->cancel(runId);
}

void JobsPage::resumeRun(qint64 runId) {
  const RunRow* r = model_->run(runId);
  if (!r) return;
  jobs_->resume(runId);
}

void JobsPage::showBanner(const QString& title, const QString& body, bool failed) {
  bannerLabel_->setText(QStringLiteral("<b>%1</b> — %2").arg(title.toHtmlEscaped(), body.toHtmlEscaped().replace('\n', QStringLiteral("<br>"))));
  banner_->setStyleSheet(failed ? QStringLiteral("QFrame#jobsBanner { background: #fbe3e3; }")
                                : QStringLiteral("QFrame#jobsBanner { background: #e2f4e8; }"));
  banner_->show();
}

QString JobsPage::bannerText() const { return banner_->isHidden() ? QString() : bannerLabel_->text(); }

}  // namespace kanana::jobsplugin
