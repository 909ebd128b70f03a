// The Data Inspector page: layout, wiring to the model layer, viewer highlighting, labelling.
#include "datainspector_page.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLabel>
#include <QListWidget>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTextEdit>
#include <QVBoxLayout>
#include <cmath>
#include <filesystem>

#include "corpus_index.h"
#include "data/filters.h"
#include "data/lang_id.h"
#include "document_table_model.h"
#include "filter_model.h"
#include "histogram_plot.h"
#include "label_store.h"
#include "sdk/workbench_context.h"
#include "signals_cache.h"
#include "store/workspace.h"
#include "text_spans.h"

namespace kanana::datainspector {

namespace {
const QString kSource = QStringLiteral("Data Inspector");
const QStringList kDefaultSignals = {"chars", "mean_word_length", "hangul_ratio", "dup_line_frac"};

QColor piiColour(data::PiiType t) {
  switch (t) {
    case data::PiiType::kEmail: return QColor(0xff, 0xb3, 0x47);
    case data::PiiType::kPhone: return QColor(0xc3, 0x9b, 0xff);
    case data::PiiType::kKrRrn: return QColor(0xff, 0x6b, 0x6b);
    case data::PiiType::kCard: return QColor(0xff, 0x8a, 0xd8);
    default: return QColor(0x5e, 0xd3, 0xc4);
  }
}
qint64 nowMs() { return QDateTime::currentMSecsSinceEpoch(); }
QString number(qint64 n) { return QLocale().toString(n); }
}  // namespace

DataInspectorPage::DataInspectorPage(gui::WorkbenchContext* context, QWidget* parent)
    : QWidget(parent), context_(context) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  layout->addWidget(buildToolbar());

  table_ = new QTableView;
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->verticalHeader()->setVisible(false);
  table_->verticalHeader()->setDefaultSectionSize(22);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->setAlternatingRowColors(true);
  table_->installEventFilter(this);
  viewFilter_ = new QLabel(tr("Showing all documents"));
  viewFilter_->setStyleSheet(QStringLiteral("color: #555;"));

  docHeader_ = new QLabel(tr("Select a document to read it."));
  docHeader_->setWordWrap(true);
  docHeader_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  viewer_ = new QTextEdit;
  viewer_->setReadOnly(true);
  auto* legend = new QLabel(
      tr("<span style='background:#dbeafe'>&nbsp;Korean&nbsp;</span> <span style='background:#fef3c7'>&nbsp;English&nbsp;</span> "
         "<span style='background:#e5e7eb;text-decoration:underline'>&nbsp;duplicate line&nbsp;</span> PII: "
         "<span style='background:#ffb347'>&nbsp;email&nbsp;</span> <span style='background:#c39bff'>&nbsp;phone&nbsp;</span> "
         "<span style='background:#ff6b6b'>&nbsp;RRN&nbsp;</span> <span style='background:#ff8ad8'>&nbsp;card&nbsp;</span> "
         "<span style='background:#5ed3c4'>&nbsp;IP&nbsp;</span>"));
  auto* tableBox = new QWidget;
  auto* tl = new QVBoxLayout(tableBox);
  tl->setContentsMargins(0, 0, 0, 0);
  tl->addWidget(viewFilter_);
  tl->addWidget(table_);
  auto* docBox = new QWidget;
  auto* dl = new QVBoxLayout(docBox);
  dl->setContentsMargins(0, 0, 0, 0);
  dl->addWidget(docHeader_);
  dl->addWidget(viewer_, 1);
  dl->addWidget(legend);
  auto* left = new QSplitter(Qt::Vertical);
  left->addWidget(tableBox);
  left->addWidget(docBox);
  left->setStretchFactor(0, 3);
  left->setStretchFactor(1, 2);

  auto* tabs = new QTabWidget;
  tabs->addTab(buildHistograms(), tr("Histograms"));
  tabs->addTab(buildRules(), tr("Rules"));
  tabs->addTab(buildDuplicates(), tr("Duplicates"));
  auto* main = new QSplitter(Qt::Horizontal);
  main->addWidget(left);
  main->addWidget(tabs);
  main->setStretchFactor(0, 3);
  main->setStretchFactor(1, 2);
  layout->addWidget(main, 1);

  refresh_.setInterval(1000);
  connect(&refresh_, &QTimer::timeout, this, [this] {
    updateStatus();
    refreshHistograms();
    if (cache_ && cache_->isComplete()) {
      refreshClusters();
      refresh_.stop();
    }
  });
  refillSources();
  if (context_) connect(context_, &gui::WorkbenchContext::workspaceChanged, this, &DataInspectorPage::refillSources);
  // For scripted screenshots and demos: open a corpus (and select a row) at start.
  const QString startCorpus = qEnvironmentVariable("KANANA_DATAINSPECTOR_OPEN");
  if (!startCorpus.isEmpty()) {
    QTimer::singleShot(0, this, [this, startCorpus] {
      QString error;
      if (!openCorpus(startCorpus, &error) && context_) context_->logError(kSource, error);
      const qint64 row = qEnvironmentVariableIntValue("KANANA_DATAINSPECTOR_ROW");
      QTimer::singleShot(300, this, [this, row] {
        if (model_ && row < model_->rowCount()) table_->selectRow(int(row));
      });
    });
  }
}

DataInspectorPage::~DataInspectorPage() {
  // The table model reads the filter and cache; the cache reads the index.
  table_->setModel(nullptr);
  model_.reset();
  filter_.reset();
  cache_.reset();
  index_.reset();
}

QWidget* DataInspectorPage::buildToolbar() {
  auto* bar = new QWidget;
  auto* h = new QHBoxLayout(bar);
  h->setContentsMargins(0, 0, 0, 0);
  auto* open = new QPushButton(tr("Open corpus…"));
  connect(open, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open a JSONL corpus"), context_ ? context_->dialogDir(QStringLiteral("data")) : QString(),
                                                      tr("JSONL corpora (*.jsonl *.json *.ndjson *.gz *.zst);;All files (*)"));
    QString error;
    if (!path.isEmpty() && !openCorpus(path, &error)) QMessageBox::warning(this, tr("Open corpus"), error);
  });
  sources_ = new QComboBox;
  sources_->setMinimumWidth(220);
  sources_->setToolTip(tr("The workspace's corpora and the demo corpora"));
  connect(sources_, &QComboBox::activated, this, [this](int i) {
    const QString path = sources_->itemData(i).toString();
    QString error;
    if (!path.isEmpty() && !openCorpus(path, &error)) QMessageBox::warning(this, tr("Open corpus"), error);
  });
  status_ = new QLabel(tr("No corpus open"));
  progress_ = new QProgressBar;
  progress_->setFixedWidth(150);
  progress_->setTextVisible(true);
  progress_->setFormat(tr("signals %p%"));
  keepRate_ = new QLabel;
  keepRate_->setStyleSheet(QStringLiteral("font-weight: 600;"));
  labelMode_ = new QPushButton(tr("Label mode"));
  labelMode_->setCheckable(true);
  labelMode_->setToolTip(tr("Label the selected document for the quality classifier: 1 or G good, 0 or B bad"));
  connect(labelMode_, &QPushButton::toggled, this, [this](bool on) {
    if (on) table_->setFocus();
    updateStatus();
  });
  auto* exportKeptButton = new QPushButton(tr("Export kept…"));
  connect(exportKeptButton, &QPushButton::clicked, this, &DataInspectorPage::exportKept);
  auto* exportRecipeButton = new QPushButton(tr("Export recipe…"));
  connect(exportRecipeButton, &QPushButton::clicked, this, &DataInspectorPage::exportRecipe);
  h->addWidget(open);
  h->addWidget(sources_);
  h->addWidget(status_, 1);
  h->addWidget(progress_);
  h->addWidget(keepRate_);
  h->addWidget(labelMode_);
  h->addWidget(exportKeptButton);
  h->addWidget(exportRecipeButton);
  return bar;
}

QWidget* DataInspectorPage::buildHistograms() {
  auto* w = new QWidget;
  auto* h = new QHBoxLayout(w);
  signalList_ = new QListWidget;
  signalList_->setMaximumWidth(170);
  for (int c = 0; c < SignalsCache::columnCount(); ++c) {
    auto* item = new QListWidgetItem(SignalsCache::columnName(c), signalList_);
    item->setCheckState(kDefaultSignals.contains(item->text()) ? Qt::Checked : Qt::Unchecked);
    if (c < int(data::signal_fields().size())) item->setToolTip(QString::fromLatin1(data::signal_fields()[size_t(c)].help));
  }
  auto* plots = new QWidget;
  plotsLayout_ = new QVBoxLayout(plots);
  plotsLayout_->setContentsMargins(0, 0, 0, 0);
  auto* scroll = new QScrollArea;
  scroll->setWidgetResizable(true);
  scroll->setWidget(plots);
  auto rebuild = [this] {
    for (auto& p : plots_) delete p.data();
    plots_.clear();
    for (int i = 0; i < signalList_->count(); ++i) {
      if (signalList_->item(i)->checkState() != Qt::Checked) continue;
      auto* plot = new HistogramPlot(signalList_->item(i)->text());
      connect(plot, &HistogramPlot::thresholdMoved, this, &DataInspectorPage::onThresholdMoved);
      plotsLayout_->addWidget(plot);
      plots_.append(plot);
    }
    refreshHistograms();
  };
  connect(signalList_, &QListWidget::itemChanged, this, rebuild);
  rebuild();
  auto* hint = new QLabel(tr("Drag a dashed line to move that rule's bound (green: min, red: max)."));
  hint->setWordWrap(true);
  auto* right = new QVBoxLayout;
  right->addWidget(hint);
  right->addWidget(scroll, 1);
  h->addWidget(signalList_);
  h->addLayout(right, 1);
  return w;
}

QWidget* DataInspectorPage::buildRules() {
  auto* w = new QWidget;
  auto* v = new QVBoxLayout(w);
  auto* buttons = new QHBoxLayout;
  auto* all = new QPushButton(tr("Show all"));
  auto* kept = new QPushButton(tr("Show kept"));
  connect(all, &QPushButton::clicked, this, [this] {
    if (!model_) return;
    model_->setRowFilter(DocumentTableModel::RowFilter::kAll);
    viewFilter_->setText(tr("Showing all documents"));
  });
  connect(kept, &QPushButton::clicked, this, [this] {
    if (!model_) return;
    model_->setRowFilter(DocumentTableModel::RowFilter::kKept);
    viewFilter_->setText(tr("Showing kept documents (%1)").arg(number(model_->rowCount())));
  });
  buttons->addWidget(all);
  buttons->addWidget(kept);
  buttons->addStretch(1);
  rules_ = new QTableWidget(0, 6);
  rules_->setHorizontalHeaderLabels({tr("Rule"), tr("Signal"), tr("Min"), tr("Max"), tr("Removed"), tr("Failed")});
  rules_->verticalHeader()->setVisible(false);
  rules_->verticalHeader()->setDefaultSectionSize(22);
  rules_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  rules_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
  rules_->setSelectionBehavior(QAbstractItemView::SelectRows);
  rules_->setToolTip(tr("Click a rule to list the documents it removed; edit Min/Max; untick to disable"));
  connect(rules_, &QTableWidget::cellClicked, this, [this](int row, int) {
    if (!model_ || !filter_) return;
    model_->setRowFilter(DocumentTableModel::RowFilter::kRemovedByRule, row);
    viewFilter_->setText(tr("Showing documents removed by %1 (%2)")
                             .arg(QString::fromStdString(filter_->recipe().rules[size_t(row)].name), number(model_->rowCount())));
  });
  connect(rules_, &QTableWidget::itemChanged, this, [this](QTableWidgetItem* item) {
    if (refreshingRules_ || !filter_) return;
    const int r = item->row();
    if (item->column() == 0) {
      filter_->setRuleEnabled(r, item->checkState() == Qt::Checked);
    } else if (item->column() == 2 || item->column() == 3) {
      auto bound = [&](int col) -> std::optional<double> {
        bool ok = false;
        const double v = rules_->item(r, col)->text().toDouble(&ok);
        return ok ? std::optional<double>(v) : std::nullopt;
      };
      filter_->setThreshold(r, bound(2), bound(3));
    }
  });
  v->addLayout(buttons);
  v->addWidget(rules_);
  return w;
}

QWidget* DataInspectorPage::buildDuplicates() {
  auto* w = new QWidget;
  auto* v = new QVBoxLayout(w);
  clusters_ = new QListWidget;
  connect(clusters_, &QListWidget::itemClicked, this, [this](QListWidgetItem* item) {
    if (!model_) return;
    model_->setRowFilter(DocumentTableModel::RowFilter::kCluster, item->data(Qt::UserRole).toLongLong());
    viewFilter_->setText(tr("Showing duplicate cluster %1").arg(item->text()));
    if (model_->rowCount() > 0) table_->selectRow(0);
  });
  v->addWidget(new QLabel(tr("Clusters of exact and near duplicates (MinHash LSH), largest first:")));
  v->addWidget(clusters_);
  return w;
}

void DataInspectorPage::refillSources() {
  sources_->clear();
  sources_->addItem(tr("Corpora…"), QString());
  if (context_) {
    if (auto ws = context_->workspace()) {
      auto datasets = ws->list_datasets();
      if (datasets.is_ok())
        for (const auto& d : *datasets) {
          QString path = QString::fromStdString(d.path);
          if (QFileInfo(path).isRelative()) path = QDir(context_->workspacePath()).filePath(path);
          // Each file once: the demo workspace registers the data cache's corpora, which are
          // also listed from the cache below.
          path = QFileInfo(path).canonicalFilePath();
          if (!path.isEmpty() && sources_->findData(path) < 0)
            sources_->addItem(tr("%1 (workspace)").arg(QString::fromStdString(d.name)), path);
        }
    }
    const QDir corpora(QDir(context_->dataCachePath()).filePath(QStringLiteral("corpora")));
    for (const QFileInfo& f : corpora.entryInfoList({"*.jsonl", "*.jsonl.gz", "*.jsonl.zst"}, QDir::Files, QDir::Name))
      if (sources_->findData(f.canonicalFilePath()) < 0)
        sources_->addItem(tr("%1 (demo)").arg(f.fileName()), f.canonicalFilePath());
  }
}

QString DataInspectorPage::recipeDefaultPath() const {
  return QString::fromStdString(data::default_recipe_path().string());
}

bool DataInspectorPage::openCorpus(const QString& path, QString* error) {
  table_->setModel(nullptr);
  model_.reset();
  filter_.reset();
  cache_.reset();
  index_ = std::make_unique<CorpusIndex>();
  firstRowsMs_ = indexMs_ = -1;
  currentRow_ = -1;
  openedAtMs_ = nowMs();
  connect(index_.get(), &CorpusIndex::progress, this, [this](qint64 rows) {
    if (firstRowsMs_ < 0 && rows > 0) firstRowsMs_ = nowMs() - openedAtMs_;
    updateStatus();
  });
  connect(index_.get(), &CorpusIndex::completed, this, [this] {
    indexMs_ = nowMs() - openedAtMs_;
    updateStatus();
  });
  connect(index_.get(), &CorpusIndex::failed, this, [this](const QString& e) {
    if (context_) context_->logError(kSource, e);
    status_->setText(e);
  });
  if (!index_->open(path, error)) return false;
  SignalsCacheOptions opt;
  if (std::filesystem::exists(data::default_lid_model_path())) opt.lid_model = data::default_lid_model_path();
  cache_ = std::make_unique<SignalsCache>(index_.get(), opt);
  filter_ = std::make_unique<FilterModel>(cache_.get());
  QString recipeError;
  if (!filter_->loadRecipe(recipeDefaultPath(), &recipeError) && context_) context_->logWarning(kSource, recipeError);
  connect(filter_.get(), &FilterModel::evaluated, this, [this] {
    updateKeepRate();
    updateStatus();  // the signals progress and the keep-rate count the same rows
    refreshRules();
    if (viewerPending_ && currentRow_ >= 0) showDocument(currentRow_);
  });
  connect(filter_.get(), &FilterModel::recipeChanged, this, [this] {
    refreshRules();
    refreshHistograms();  // the plot being dragged keeps its own line
  });
  model_ = std::make_unique<DocumentTableModel>(index_.get(), cache_.get(), filter_.get());
  table_->setModel(model_.get());
  table_->horizontalHeader()->resizeSection(DocumentTableModel::kNumber, 70);
  const int widths[DocumentTableModel::kColumnCount] = {56, 44, 60, 58, 62, 72, 70, 150, 110, 40};
  for (int c = 0; c < DocumentTableModel::kColumnCount; ++c) table_->horizontalHeader()->resizeSection(c, widths[c]);
  // The open document's header says "signals pending" until its row is computed.
  connect(cache_.get(), &SignalsCache::rowsReady, this, [this](qint64 first, qint64 last) {
    if (currentRow_ >= first && currentRow_ <= last && viewerPending_) showDocument(currentRow_);
  });
  connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this](const QModelIndex& current) { showDocument(model_->sourceRow(current.row())); });
  labels_ = std::make_unique<LabelStore>();
  QString labelError;
  const QString labelPath = LabelStore::defaultPath(context_ ? context_->workspacePath() : QString(), path);
  if (!labels_->open(labelPath, path, &labelError) && context_) context_->logWarning(kSource, labelError);
  viewFilter_->setText(tr("Showing all documents"));
  clusters_->clear();
  cache_->start();
  refresh_.start();
  if (context_) context_->logInfo(kSource, tr("Opened %1").arg(path));
  updateStatus();
  return true;
}

void DataInspectorPage::updateStatus() {
  if (!index_) return;
  QString text = QStringLiteral("<b>%1</b> — %2 rows").arg(QFileInfo(index_->path()).fileName(), number(index_->rowCount()));
  if (index_->isComplete()) {
    text += tr(", indexed in %1 s").arg(double(indexMs_) / 1000.0, 0, 'f', 2);
  } else if (index_->bytesTotal() > 0) {
    text += tr(", indexing %1%").arg(100 * index_->bytesScanned() / index_->bytesTotal());
  }
  if (firstRowsMs_ >= 0) text += tr(" (first rows after %1 ms)").arg(firstRowsMs_);
  if (labels_ && labelMode_->isChecked())
    text += tr(" · labels %1 good / %2 bad").arg(labels_->goodCount()).arg(labels_->count() - labels_->goodCount());
  status_->setText(text);
  if (cache_) {
    const qint64 rows = std::max<qint64>(1, index_->rowCount());
    progress_->setValue(cache_->isComplete() ? 100 : int(100 * (cache_->readyCount() + cache_->badCount()) / rows));
  }
}

void DataInspectorPage::updateKeepRate() {
  const Evaluation& e = filter_->evaluation();
  keepRate_->setText(tr("Keep %1% (%2 of %3)").arg(100.0 * e.keepRate(), 0, 'f', 1).arg(number(e.kept), number(e.evaluated)));
  keepRate_->setToolTip(tr("%1 bad lines; %2 documents not computed yet").arg(e.bad).arg(e.rows - e.evaluated - e.bad));
}

void DataInspectorPage::refreshHistograms() {
  if (!cache_ || !filter_) return;
  for (auto& plot : plots_) {
    if (!plot || plot->dragging()) continue;
    const int col = SignalsCache::columnOf(plot->signal().toStdString());
    // Whether the first enabled rule on this signal applies to each row (its language and guard).
    const std::vector<uint8_t>* applies = nullptr;
    for (int r : filter_->rulesForSignal(plot->signal().toStdString()))
      if (filter_->recipe().rules[size_t(r)].enabled && size_t(r) < filter_->evaluation().subject.size()) {
        applies = &filter_->evaluation().subject[size_t(r)];
        break;
      }
    std::vector<double> values;
    std::vector<uint8_t> subject;
    cache_->withColumns([&](const std::vector<RowInfo>& info, const std::vector<std::vector<double>>& cols,
                            const std::vector<std::string>&) {
      values.reserve(info.size());
      for (size_t r = 0; r < info.size(); ++r)
        if (info[r].state == RowState::kReady) {
          values.push_back(cols[size_t(col)][r]);
          subject.push_back(applies && r < applies->size() ? (*applies)[r] : uint8_t{1});
        }
    });
    std::vector<HistogramPlot::Bound> bounds;
    for (int r : filter_->rulesForSignal(plot->signal().toStdString())) {
      const auto& rule = filter_->recipe().rules[size_t(r)];
      if (!rule.enabled) continue;
      const QString name = QString::fromStdString(rule.name);
      if (rule.min) bounds.push_back({r, true, *rule.min, name + QStringLiteral(" ≥")});
      if (rule.max && *rule.max < 1e6) bounds.push_back({r, false, *rule.max, name + QStringLiteral(" ≤")});
    }
    plot->setData(std::move(values), std::move(bounds), std::move(subject));
  }
}

void DataInspectorPage::refreshRules() {
  if (!filter_) return;
  refreshingRules_ = true;
  const auto& rules = filter_->recipe().rules;
  const Evaluation& e = filter_->evaluation();
  rules_->setRowCount(int(rules.size()));
  auto set = [&](int row, int col, const QString& text, bool editable) {
    QTableWidgetItem* item = rules_->item(row, col);
    if (!item) rules_->setItem(row, col, item = new QTableWidgetItem);
    if (item->text() != text) item->setText(text);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable | (editable ? Qt::ItemIsEditable : Qt::NoItemFlags) |
                   (col == 0 ? Qt::ItemIsUserCheckable : Qt::NoItemFlags));
    if (col >= 4) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
  };
  auto bound = [](const std::optional<double>& v) { return v ? QString::number(*v, 'g', 4) : QString(); };
  for (int i = 0; i < int(rules.size()); ++i) {
    const auto& r = rules[size_t(i)];
    const bool lang = r.kind == data::FilterRule::Kind::kLanguage;
    auto* name = set(i, 0, QString::fromStdString(r.name), false);
    name->setCheckState(r.enabled ? Qt::Checked : Qt::Unchecked);
    name->setToolTip(QString::fromStdString(r.description));
    set(i, 1, lang ? tr("language") : QString::fromStdString(r.signal), false);
    set(i, 2, lang ? QString::number(r.min_score) : bound(r.min), !lang);
    set(i, 3, lang ? QString() : bound(r.max), !lang);
    set(i, 4, i < int(e.removedBy.size()) ? number(e.removedBy[size_t(i)]) : QString(), false);
    set(i, 5, i < int(e.failedBy.size()) ? number(e.failedBy[size_t(i)]) : QString(), false);
  }
  refreshingRules_ = false;
}

void DataInspectorPage::refreshClusters() {
  clusters_->clear();
  for (const auto& c : cache_->duplicateClusters()) {
    auto* item = new QListWidgetItem(tr("#%1 — %2 documents").arg(c.first + 1).arg(c.members.size()), clusters_);
    item->setData(Qt::UserRole, c.first);
  }
  if (clusters_->count() == 0) clusters_->addItem(tr("No duplicates found"));
}

void DataInspectorPage::onThresholdMoved(int rule, bool isMin, double value) {
  if (!filter_ || rule < 0) return;
  const auto& r = filter_->recipe().rules[size_t(rule)];
  filter_->setThreshold(rule, isMin ? std::optional<double>(value) : r.min, isMin ? r.max : std::optional<double>(value));
}

void DataInspectorPage::showDocument(qint64 row) {
  currentRow_ = row;
  if (!index_ || row < 0) return;
  auto doc = index_->document(row);
  if (!doc.is_ok()) {
    docHeader_->setText(tr("<b>Row %1</b> — bad line").arg(row + 1));
    viewer_->setPlainText(QString::fromStdString(doc.status().message()));
    return;
  }
  const RowInfo info = cache_->row(row);
  std::string reference;
  if (info.cluster >= 0 && info.cluster != row)
    if (auto ref = index_->document(info.cluster); ref.is_ok()) reference = ref->text;
  const QStringList langs = cache_->languages();
  const int16_t outcome = filter_->outcome(row);
  viewerPending_ = info.state == RowState::kPending || !info.dedupDone || outcome == kRowPending;
  QString decision = outcome == kRowKept ? tr("<span style='color:#2e7d32'>kept</span>")
                     : outcome >= 0 ? tr("<span style='color:#c62828'>removed by %1</span>")
                                          .arg(QString::fromStdString(filter_->recipe().rules[size_t(outcome)].name))
                                    : tr("signals pending");
  QString header = tr("<b>Document %1</b> · line %2").arg(row + 1).arg(doc->id.line);
  if (!doc->source_id.empty()) header += tr(" · id %1").arg(QString::fromStdString(doc->source_id).toHtmlEscaped());
  if (info.lang >= 0 && info.lang < langs.size()) header += QStringLiteral(" · ") + langs[info.lang];
  header += QStringLiteral(" · ") + decision;
  if (info.dupKind != data::DupKind::kNone)
    header += tr(" · %1 duplicate of #%2").arg(QString::fromLatin1(data::dup_kind_name(info.dupKind))).arg(info.cluster + 1);
  if (info.piiCount) header += tr(" · %1 PII").arg(info.piiCount);
  if (labels_ && labels_->labelOf(row) >= 0) header += tr(" · labelled %1").arg(labels_->labelOf(row) ? tr("good") : tr("bad"));
  docHeader_->setText(header);

  viewer_->setPlainText(QString::fromUtf8(doc->text.data(), qsizetype(doc->text.size())));
  QTextCursor cursor(viewer_->document());
  for (const Highlight& h : document_highlights(doc->text, reference)) {
    cursor.setPosition(h.start);
    cursor.setPosition(h.start + h.length, QTextCursor::KeepAnchor);
    QTextCharFormat f;
    switch (h.kind) {
      case HighlightKind::kKorean: f.setBackground(QColor(0xdb, 0xea, 0xfe)); break;
      case HighlightKind::kEnglish: f.setBackground(QColor(0xfe, 0xf3, 0xc7)); break;
      case HighlightKind::kDuplicate:
        f.setBackground(QColor(0xe5, 0xe7, 0xeb));
        f.setUnderlineStyle(QTextCharFormat::WaveUnderline);
        f.setUnderlineColor(QColor(0xc6, 0x28, 0x28));
        break;
      case HighlightKind::kPii:
        f.setBackground(piiColour(h.pii));
        f.setFontWeight(QFont::DemiBold);
        f.setToolTip(QString::fromLatin1(data::pii_type_name(h.pii)));
        break;
    }
    cursor.mergeCharFormat(f);
  }
  viewer_->moveCursor(QTextCursor::Start);
}

bool DataInspectorPage::eventFilter(QObject* watched, QEvent* event) {
  if (watched == table_ && event->type() == QEvent::KeyPress && labelMode_->isChecked()) {
    const int key = static_cast<QKeyEvent*>(event)->key();
    if (key == Qt::Key_1 || key == Qt::Key_G) return labelCurrent(true), true;
    if (key == Qt::Key_0 || key == Qt::Key_B) return labelCurrent(false), true;
  }
  return QWidget::eventFilter(watched, event);
}

void DataInspectorPage::labelCurrent(bool good) {
  if (!labels_ || currentRow_ < 0) return;
  auto doc = index_->document(currentRow_);
  if (!doc.is_ok()) return;
  // The workspace may have changed (or appeared) since the corpus was opened.
  QString error;
  const QString path = LabelStore::defaultPath(context_ ? context_->workspacePath() : QString(), index_->path());
  if (labels_->path() != path && !labels_->open(path, index_->path(), &error)) {
    QMessageBox::warning(this, tr("Label"), error);
    return;
  }
  if (!labels_->label(currentRow_, doc->id.line, QString::fromStdString(doc->source_id), good,
                      QString::fromUtf8(doc->text.data(), qsizetype(doc->text.size())), &error)) {
    QMessageBox::warning(this, tr("Label"), error);
    return;
  }
  const int next = table_->currentIndex().row() + 1;
  if (next < model_->rowCount()) table_->selectRow(next);
  updateStatus();
}

void DataInspectorPage::exportKept() {
  if (!filter_) return;
  const QString path = QFileDialog::getSaveFileName(this, tr("Export kept documents"), index_->path() + QStringLiteral(".kept.jsonl"),
                                                    tr("JSONL (*.jsonl)"));
  if (path.isEmpty()) return;
  QApplication::setOverrideCursor(Qt::WaitCursor);
  const Status st = filter_->exportKept(*index_, path);
  QApplication::restoreOverrideCursor();
  if (!st.is_ok()) return void(QMessageBox::warning(this, tr("Export kept documents"), QString::fromStdString(st.message())));
  if (context_) context_->logInfo(kSource, tr("Wrote %1 kept documents to %2").arg(filter_->evaluation().kept).arg(path));
}

void DataInspectorPage::exportRecipe() {
  if (!filter_) return;
  const QString path = QFileDialog::getSaveFileName(this, tr("Export filter recipe"), QDir(context_ ? context_->dialogDir() : QString()).filePath(QStringLiteral("recipe.json")), tr("JSON (*.json)"));
  if (path.isEmpty()) return;
  const Status st = filter_->exportRecipe(path);
  if (!st.is_ok()) return void(QMessageBox::warning(this, tr("Export filter recipe"), QString::fromStdString(st.message())));
  if (context_) context_->logInfo(kSource, tr("Wrote the recipe to %1").arg(path));
}

}  // namespace kanana::datainspector
