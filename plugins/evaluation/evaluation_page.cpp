// See evaluation_page.h.
#include "evaluation_page.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include "eval_charts.h"
#include "eval_launch.h"
#include "sdk/job_service.h"
#include "sdk/workbench_context.h"

namespace kanana::evaluation {

namespace {

constexpr const char* kTasksKey = "evaluation/tasks";
constexpr int kPathRole = Qt::UserRole + 1;
constexpr int kCommandRole = Qt::UserRole + 2;
constexpr int kNameRole = Qt::UserRole + 3;

}  // namespace

EvaluationPage::EvaluationPage(gui::WorkbenchContext* context, QWidget* parent)
    : QWidget(parent),
      context_(context),
      controller_(new EvalController(this)),
      jobs_(context ? context->jobService() : new gui::JobService(this)),
      comparison_(new ComparisonModel(this)),
      samples_(new SamplesModel(this)) {
  buildUi();
  connect(controller_, &EvalController::comparisonLoaded, this, &EvaluationPage::onComparison);
  connect(controller_, &EvalController::checkpointsListed, this, &EvaluationPage::onCheckpoints);
  connect(controller_, &EvalController::samplesLoaded, this, &EvaluationPage::onSamples);
  connect(jobs_, &gui::JobService::runsListed, this, &EvaluationPage::onRuns);
  connect(jobs_, &gui::JobService::launched, this, [this](quint64 ticket, qint64) {
    if (!tickets_.remove(ticket)) return;  // another page's launch
    ++launchedNow_;
    setStatus(tr("launched %n eval run(s)", nullptr, launchedNow_));
  });
  connect(jobs_, &gui::JobService::launchFailed, this, [this](quint64 ticket, const QString& e) {
    if (tickets_.remove(ticket)) setStatus(e, true);
  });
  // The service polls the runs (and records their results); a finished eval run adds a column.
  connect(jobs_, &gui::JobService::runStateChanged, this, [this](qint64, const QString& kind, const QString& state) {
    if (kind == QLatin1String("eval") && !gui::RunInfo::isActiveRunState(state)) controller_->reload();
  });
  onRuns(jobs_->workspacePath(), jobs_->runs());  // the service may have listed before this page existed
  connect(controller_, &EvalController::error, this, [this](const QString& e) {
    setStatus(e, true);
    if (context_) context_->logWarning(QStringLiteral("evaluation"), e);
  });
  if (context_) {
    connect(context_, &gui::WorkbenchContext::workspaceChanged, this, &EvaluationPage::onWorkspaceChanged);
    if (context_->settings()) {
      for (const QString& p : context_->settings()->value(QLatin1String(kTasksKey)).toStringList()) addTask(p);
    }
    onWorkspaceChanged(context_->workspacePath());
  }
}

EvaluationPage::~EvaluationPage() = default;

void EvaluationPage::buildUi() {
  auto* root = new QHBoxLayout(this);
  root->setContentsMargins(6, 6, 6, 6);
  auto* split = new QSplitter(Qt::Horizontal, this);
  root->addWidget(split);

  // ---- left: what to evaluate
  auto* left = new QWidget(split);
  auto* lv = new QVBoxLayout(left);
  lv->setContentsMargins(0, 0, 0, 0);
  auto* ckBox = new QGroupBox(tr("Checkpoints"), left);
  auto* ckLayout = new QVBoxLayout(ckBox);
  checkpoints_ = new QListWidget(ckBox);
  checkpoints_->setToolTip(tr("Workspace checkpoints; checked ones are evaluated"));
  ckLayout->addWidget(checkpoints_);
  lv->addWidget(ckBox, 2);

  auto* taskBox = new QGroupBox(tr("Tasks"), left);
  auto* taskLayout = new QVBoxLayout(taskBox);
  tasks_ = new QListWidget(taskBox);
  tasks_->setToolTip(tr("KMMLU / MMLU / HAE-RAE / GSM8K JSONL, task specs (.json), or pack folders / corpora for perplexity"));
  taskLayout->addWidget(tasks_);
  auto* taskButtons = new QHBoxLayout;
  auto* addFile = new QPushButton(tr("Add task…"), taskBox);
  auto* addPack = new QPushButton(tr("Add pack…"), taskBox);
  auto* remove = new QPushButton(tr("Remove"), taskBox);
  taskButtons->addWidget(addFile);
  taskButtons->addWidget(addPack);
  taskButtons->addWidget(remove);
  taskLayout->addLayout(taskButtons);
  lv->addWidget(taskBox, 2);
  connect(addFile, &QPushButton::clicked, this, [this] {
    const QStringList files = QFileDialog::getOpenFileNames(this, tr("Add evaluation tasks"), context_ ? context_->dialogDir(QStringLiteral("data")) : QString(),
                                                            tr("Tasks (*.jsonl *.json *.jsonl.gz *.jsonl.zst *.txt);;All files (*)"));
    for (const QString& f : files) addTask(f);
  });
  connect(addPack, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Add a pack folder (perplexity on its val split)"),
                                                          context_ ? context_->dialogDir(QStringLiteral("data")) : QString());
    if (!dir.isEmpty()) addTask(dir);
  });
  connect(remove, &QPushButton::clicked, this, [this] {
    delete tasks_->currentItem();
    saveTasks();
  });
  connect(tasks_, &QListWidget::itemChanged, this, [this] { saveTasks(); });

  auto* form = new QFormLayout;
  fewshot_ = new QSpinBox(left);
  fewshot_->setRange(-1, 25);
  fewshot_->setValue(-1);
  fewshot_->setSpecialValueText(tr("task default"));
  limit_ = new QSpinBox(left);
  limit_->setRange(0, 1000000);
  limit_->setSpecialValueText(tr("all items"));
  target_ = new QComboBox(left);
  target_->addItems({QStringLiteral("local"), QStringLiteral("ssh"), QStringLiteral("slurm")});
  host_ = new QLineEdit(left);
  host_->setPlaceholderText(tr("host (ssh; slurm login node)"));
  form->addRow(tr("Few-shot"), fewshot_);
  form->addRow(tr("Limit"), limit_);
  form->addRow(tr("Target"), target_);
  form->addRow(tr("Host"), host_);
  lv->addLayout(form);
  launch_ = new QPushButton(tr("Launch evaluation"), left);
  launch_->setToolTip(tr("One eval job per checkpoint and kind (mc / gen / ppl), through the job system"));
  lv->addWidget(launch_);
  connect(launch_, &QPushButton::clicked, this, [this] { launchSelected(); });
  status_ = new QLabel(left);
  status_->setWordWrap(true);
  lv->addWidget(status_);
  auto* runBox = new QGroupBox(tr("Eval runs"), left);
  auto* runLayout = new QVBoxLayout(runBox);
  runs_ = new QListWidget(runBox);
  runs_->setObjectName(QStringLiteral("evalRuns"));
  runLayout->addWidget(runs_);
  lv->addWidget(runBox, 1);
  left->setMinimumWidth(260);

  // ---- right: comparison, charts, drill-down
  auto* right = new QSplitter(Qt::Vertical, split);
  auto* top = new QWidget(right);
  auto* tv = new QVBoxLayout(top);
  tv->setContentsMargins(0, 0, 0, 0);
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Metric"), top));
  metric_ = new QComboBox(top);
  metric_->addItem(tr("primary (acc / exact match / bits per byte)"), QString());
  bar->addWidget(metric_);
  bar->addStretch(1);
  auto* reload = new QPushButton(tr("Reload"), top);
  bar->addWidget(reload);
  tv->addLayout(bar);
  connect(reload, &QPushButton::clicked, this, [this] { controller_->reload(); });
  connect(metric_, &QComboBox::currentIndexChanged, this, [this] {
    comparison_->setMetric(metric_->currentData().toString());
    refreshCharts();
  });
  table_ = new QTableView(top);
  table_->setModel(comparison_);
  table_->setSelectionBehavior(QAbstractItemView::SelectItems);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setDefaultAlignment(Qt::AlignCenter);
  table_->setToolTip(tr("Checkpoints × tasks (± bootstrap stderr; \"s\" = recorded sample stderr). Double-click for per-item predictions."));
  tv->addWidget(table_);
  connect(table_, &QTableView::doubleClicked, this, [this](const QModelIndex& i) { drillDown(i.row(), i.column()); });

  tabs_ = new QTabWidget(right);
  bars_ = new ScoreBarChart(tabs_);
  radar_ = new ScoreRadarChart(tabs_);
  languages_ = new LanguagePerplexityChart(tabs_);
  tabs_->addTab(bars_, tr("Bars"));
  tabs_->addTab(radar_, tr("Radar"));
  tabs_->addTab(languages_, tr("Perplexity by language"));
  auto* items = new QWidget(tabs_);
  auto* iv = new QVBoxLayout(items);
  itemsTitle_ = new QLabel(tr("Double-click a cell of the table to see its items."), items);
  iv->addWidget(itemsTitle_);
  auto* itemSplit = new QSplitter(Qt::Vertical, items);
  itemsTable_ = new QTableView(itemSplit);
  itemsTable_->setModel(samples_);
  itemsTable_->setSelectionBehavior(QAbstractItemView::SelectRows);
  itemsTable_->setSelectionMode(QAbstractItemView::SingleSelection);
  itemsTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
  itemsTable_->verticalHeader()->setVisible(false);
  detail_ = new QPlainTextEdit(itemSplit);
  detail_->setReadOnly(true);
  iv->addWidget(itemSplit);
  tabs_->addTab(items, tr("Items"));
  connect(itemsTable_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this](const QModelIndex& current) { detail_->setPlainText(samples_->detail(current.row())); });
  right->setStretchFactor(0, 1);
  right->setStretchFactor(1, 1);
  split->setStretchFactor(1, 1);
}

QString EvaluationPage::status() const { return status_->text(); }

void EvaluationPage::setStatus(const QString& text, bool error) {
  status_->setText(text);
  status_->setStyleSheet(error ? QStringLiteral("color: #b00020") : QString());
}

void EvaluationPage::onWorkspaceChanged(const QString& path) {
  comparison_->setData(nullptr);
  samples_->clear();
  controller_->setWorkspace(path);
}

void EvaluationPage::onComparison(const ComparisonPtr& data) {
  comparison_->setData(data);
  // The metric selector offers every metric seen.
  const QString current = metric_->currentData().toString();
  metric_->blockSignals(true);
  while (metric_->count() > 1) metric_->removeItem(1);
  for (const auto& m : data->metrics) metric_->addItem(QString::fromStdString(m), QString::fromStdString(m));
  const int keep = metric_->findData(current);
  metric_->setCurrentIndex(keep >= 0 ? keep : 0);
  metric_->blockSignals(false);
  comparison_->setMetric(metric_->currentData().toString());
  refreshCharts();
  if (data->checkpoints.empty()) {
    setStatus(tr("No evaluation results in this workspace yet: pick checkpoints and tasks, then Launch."));
  } else if (!status_->text().contains(QStringLiteral("launched"))) {
    setStatus(tr("%1 checkpoint(s) × %2 task(s) evaluated").arg(data->checkpoints.size()).arg(data->tasks.size()));
  }
  Q_EMIT comparisonShown();
}

void EvaluationPage::refreshCharts() {
  bars_->refresh(*comparison_);
  radar_->refresh(*comparison_);
  languages_->refresh(*comparison_);
}

void EvaluationPage::onCheckpoints(const QList<CheckpointEntry>& checkpoints, const QStringList& evalDatasets) {
  QSet<QString> checked;
  for (int i = 0; i < checkpoints_->count(); ++i) {
    if (checkpoints_->item(i)->checkState() == Qt::Checked) checked.insert(checkpoints_->item(i)->data(kPathRole).toString());
  }
  checkpoints_->clear();
  for (const auto& c : checkpoints) {
    auto* item = new QListWidgetItem(QString::fromStdString(c.name), checkpoints_);
    const QString path = QString::fromStdString(c.path);
    item->setData(kPathRole, path);
    item->setData(kNameRole, QString::fromStdString(c.name));
    item->setToolTip(path);
    item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
    item->setCheckState(checked.contains(path) ? Qt::Checked : Qt::Unchecked);
  }
  for (const QString& d : evalDatasets) {
    bool known = false;
    for (int i = 0; i < tasks_->count(); ++i) known = known || tasks_->item(i)->data(kPathRole).toString() == d;
    if (!known && QFileInfo::exists(d)) addTask(d);
  }
}

void EvaluationPage::onRuns(const QString& workspace, const QList<gui::RunInfo>& runs) {
  if (workspace != jobs_->workspacePath()) return;  // a listing of a workspace since closed
  runs_->clear();
  for (const auto& r : runs) {
    if (r.kind != QLatin1String("eval")) continue;
    auto* item = new QListWidgetItem(QStringLiteral("#%1 %2 — %3").arg(r.id).arg(r.name, r.state), runs_);
    if (!r.reason.isEmpty()) item->setToolTip(r.reason);
    if (r.state == QLatin1String("failed")) item->setForeground(QColor(0xb0, 0x00, 0x20));
    if (r.state == QLatin1String("running") || r.state == QLatin1String("queued")) item->setForeground(QColor(0x1e, 0x60, 0xc0));
  }
}

bool EvaluationPage::addTask(const QString& path) {
  if (path.isEmpty()) return false;
  for (int i = 0; i < tasks_->count(); ++i) {
    if (tasks_->item(i)->data(kPathRole).toString() == path) return true;
  }
  auto task = classify_task(path.toStdString());
  if (!task.is_ok()) {
    setStatus(QString::fromStdString(task.status().message()), true);
    return false;
  }
  const QString command = QString::fromStdString(task->command);
  auto* item = new QListWidgetItem(QStringLiteral("%1  [%2]").arg(QFileInfo(path).fileName(), command), tasks_);
  item->setData(kPathRole, path);
  item->setData(kCommandRole, command);
  item->setToolTip(path);
  item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
  item->setCheckState(Qt::Checked);
  saveTasks();
  return true;
}

void EvaluationPage::saveTasks() const {
  if (!context_ || !context_->settings()) return;
  QStringList paths;
  for (int i = 0; i < tasks_->count(); ++i) paths << tasks_->item(i)->data(kPathRole).toString();
  context_->settings()->setValue(QLatin1String(kTasksKey), paths);
}

void EvaluationPage::checkCheckpoints(const QStringList& namesOrPaths) {
  for (int i = 0; i < checkpoints_->count(); ++i) {
    auto* item = checkpoints_->item(i);
    const bool on = namesOrPaths.contains(item->data(kNameRole).toString()) ||
                    namesOrPaths.contains(item->data(kPathRole).toString());
    item->setCheckState(on ? Qt::Checked : Qt::Unchecked);
  }
}

int EvaluationPage::checkpointCount() const { return checkpoints_->count(); }
void EvaluationPage::setFewshot(int k) { fewshot_->setValue(k); }
void EvaluationPage::setLimit(int n) { limit_->setValue(n); }

bool EvaluationPage::launchSelected() {
  std::vector<CheckpointRef> checkpoints;
  for (int i = 0; i < checkpoints_->count(); ++i) {
    auto* item = checkpoints_->item(i);
    if (item->checkState() != Qt::Checked) continue;
    checkpoints.push_back({item->data(kNameRole).toString().toStdString(), item->data(kPathRole).toString().toStdString()});
  }
  std::vector<LaunchTask> tasks;
  for (int i = 0; i < tasks_->count(); ++i) {
    auto* item = tasks_->item(i);
    if (item->checkState() != Qt::Checked) continue;
    tasks.push_back({item->data(kPathRole).toString().toStdString(), item->data(kCommandRole).toString().toStdString()});
  }
  LaunchSettings s;
  s.num_fewshot = fewshot_->value();
  s.limit = limit_->value();
  auto kind = jobs::parse_target_kind(target_->currentText().toStdString());
  s.target.kind = kind.is_ok() ? *kind : jobs::TargetKind::kLocal;
  s.target.host = host_->text().trimmed().toStdString();
  // A remote target runs its own `kanana` (on PATH there); the job service fills in this
  // machine's binary for local jobs.
  auto specs = plan_eval_jobs(checkpoints, tasks, s);
  if (!specs.is_ok()) {
    setStatus(QString::fromStdString(specs.status().message()), true);
    return false;
  }
  setStatus(tr("launching %n eval job(s)…", nullptr, int(specs->size())));
  launchedNow_ = 0;
  for (const jobs::JobSpec& spec : *specs) {
    gui::JobLaunch launch;
    launch.spec = spec;
    tickets_.insert(jobs_->launch(launch));
  }
  return true;
}

bool EvaluationPage::drillDown(int row, int column) {
  const TaskCell* cell = comparison_->cellAt(row, column);
  if (!cell || cell->samples_path.empty()) {
    setStatus(tr("no per-item predictions for this cell (its results file is not on this machine)"), true);
    return false;
  }
  const QString title = tr("%1 on %2").arg(comparison_->headerData(row, Qt::Vertical).toString(), comparison_->taskAt(column));
  controller_->loadSamples(QString::fromStdString(cell->samples_path), title, QString::fromStdString(cell->samples_filter));
  return true;
}

void EvaluationPage::onSamples(const SamplesPtr& samples, const QString& title, const QString& filter) {
  samples_->setSamples(*samples, title, filter);
  itemsTitle_->setText(tr("%1 — %n item(s)", nullptr, samples_->rowCount()).arg(title));
  itemsTable_->resizeColumnsToContents();
  itemsTable_->setColumnWidth(1, std::min(itemsTable_->columnWidth(1), 420));
  tabs_->setCurrentIndex(tabs_->count() - 1);
  if (samples_->rowCount() > 0) itemsTable_->selectRow(0);
  detail_->setPlainText(samples_->detail(0));
  Q_EMIT samplesShown();
}

QString EvaluationPage::detailText() const { return detail_->toPlainText(); }

}  // namespace kanana::evaluation
