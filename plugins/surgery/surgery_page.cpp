// See surgery_page.h.
#include "surgery_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QThread>
#include <QTimer>
#include <QVBoxLayout>

#include "importance_view.h"
#include "jobs/events.h"
#include "sdk/metric_plot.h"
#include "sdk/workbench_context.h"
#include "store/workspace.h"

namespace kanana::surgeryplugin {
namespace {

constexpr const char* kSource = "surgery";

QString pct(double part, double whole) { return whole > 0 ? QString::number(100.0 * part / whole, 'f', 1) + QLatin1Char('%') : QString(); }

QString massText(double v) { return v < 0 ? QStringLiteral("–") : QString::number(100.0 * v, 'f', 1) + QLatin1Char('%'); }

QSpinBox* spin(int lo, int hi, int value, QWidget* parent) {
  auto* s = new QSpinBox(parent);
  s->setRange(lo, hi);
  s->setValue(value);
  s->setKeyboardTracking(false);
  return s;
}

QComboBox* aggCombo(const QStringList& items, QWidget* parent) {
  auto* c = new QComboBox(parent);
  c->addItems(items);
  return c;
}

}  // namespace

SurgeryPage::SurgeryPage(gui::WorkbenchContext* context, QWidget* parent)
    : QWidget(parent), context_(context), session_(new SurgerySession(this)), controller_(new SurgeryController(context->jobService(), this)) {
  auto* split = new QSplitter(Qt::Horizontal, this);
  auto* scroll = new QScrollArea(split);
  scroll->setWidget(buildControls());
  scroll->setWidgetResizable(true);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setMinimumWidth(scroll->widget()->sizeHint().width() + 24);
  scroll->setFrameShape(QFrame::NoFrame);
  tabs_ = new QTabWidget(split);
  view_ = new ImportanceView(tabs_);
  tabs_->addTab(view_, tr("Importance"));
  tabs_->addTab(buildCompareTab(), tr("Compare teacher / student"));
  split->addWidget(scroll);
  split->addWidget(tabs_);
  split->setStretchFactor(0, 0);
  split->setStretchFactor(1, 1);
  split->setSizes({scroll->minimumWidth(), 900});
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  layout->addWidget(split);

  pollTimer_ = new QTimer(this);
  pollTimer_->setInterval(2000);
  connect(pollTimer_, &QTimer::timeout, this, &SurgeryPage::pollRun);

  connect(session_, &SurgerySession::modelChanged, this, &SurgeryPage::onModelChanged);
  connect(session_, &SurgerySession::scoresChanged, this, &SurgeryPage::onScoresChanged);
  connect(session_, &SurgerySession::previewChanged, this, &SurgeryPage::onPreviewChanged);

  connect(controller_, &SurgeryController::progress, this, [this](qint64 done, qint64 total, const QString& note) {
    progress_->setRange(0, int(std::max<qint64>(total, 1)));
    progress_->setValue(int(done));
    progress_->setFormat(QStringLiteral("%v / %m rows  ") + note);
  });
  connect(controller_, &SurgeryController::importanceReady, this,
          [this](std::shared_ptr<const surgery::ImportanceScores> s, const QString& file) {
            setBusy(false, {});
            session_->setScores(std::move(s), file);
            context_->logInfo(kSource, tr("importance scores saved to %1").arg(file));
          });
  connect(controller_, &SurgeryController::scoresLoaded, this,
          [this](std::shared_ptr<const surgery::ImportanceScores> s, const QString& file) {
            setBusy(false, {});
            session_->setScores(std::move(s), file);
          });
  connect(controller_, &SurgeryController::generated, this, [this](const GenerationPair& p) {
    generate_->setEnabled(true);
    teacherText_->setPlainText(p.prompt + p.teacher);
    studentText_->setPlainText(p.prompt + p.student);
  });
  connect(controller_, &SurgeryController::pipelineLaunched, this, [this](qint64 id, const QString& dir) {
    launch_->setEnabled(true);
    pipelineLabel_->setText(tr("Run #%1 launched: %2 (see the Jobs page)").arg(id).arg(QDir(dir).dirName()));
    context_->logInfo(kSource, tr("prune → distill run #%1 launched in %2").arg(id).arg(dir));
    refreshWorkspace();
    followRun(dir);
  });
  connect(controller_, &SurgeryController::failed, this, [this](const QString& what, const QString& error) {
    if (what == QLatin1String("generate")) generate_->setEnabled(true);
    if (what == QLatin1String("pipeline")) {
      launch_->setEnabled(true);
      pipelineLabel_->setText(QStringLiteral("<span style='color:#c0392b'>%1</span>").arg(error.toHtmlEscaped()));
    } else {
      setBusy(false, {});
      scoresLabel_->setText(QStringLiteral("<span style='color:#c0392b'>%1</span>").arg(error.toHtmlEscaped()));
    }
    context_->logError(kSource, what + QStringLiteral(": ") + error);
  });

  connect(controller_, &SurgeryController::idle, this, [this] {
    setBusy(false, {});
    if (!session_->scores() && scoresLabel_->text().startsWith(tr("looking for saved scores"))) onScoresChanged();
  });
  connect(context_, &gui::WorkbenchContext::workspaceChanged, this, [this](const QString&) { refreshWorkspace(); });
  refreshWorkspace();
}

SurgeryPage::~SurgeryPage() = default;

QWidget* SurgeryPage::buildControls() {
  auto* box = new QWidget(this);
  auto* col = new QVBoxLayout(box);

  // ---- model
  auto* modelBox = new QGroupBox(tr("Checkpoint"), box);
  auto* ml = new QVBoxLayout(modelBox);
  auto* row = new QHBoxLayout;
  modelCombo_ = new QComboBox(modelBox);
  modelCombo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  modelCombo_->setMinimumContentsLength(18);
  auto* browse = new QPushButton(tr("Browse…"), modelBox);
  row->addWidget(modelCombo_, 1);
  row->addWidget(browse);
  ml->addLayout(row);
  shapeLabel_ = new QLabel(tr("No checkpoint selected."), modelBox);
  shapeLabel_->setWordWrap(true);
  shapeLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  ml->addWidget(shapeLabel_);
  col->addWidget(modelBox);
  connect(modelCombo_, &QComboBox::activated, this, &SurgeryPage::onModelChosen);
  connect(browse, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Model folder (config.json + safetensors)"), context_->workspacePath());
    if (!dir.isEmpty()) openModel(dir);
  });

  // ---- importance
  auto* impBox = new QGroupBox(tr("Importance (calibration forward passes)"), box);
  auto* form = new QFormLayout(impBox);
  auto* packRow = new QHBoxLayout;
  packCombo_ = new QComboBox(impBox);
  packCombo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  packCombo_->setMinimumContentsLength(14);
  auto* packBrowse = new QPushButton(tr("…"), impBox);
  packBrowse->setMaximumWidth(32);
  packRow->addWidget(packCombo_, 1);
  packRow->addWidget(packBrowse);
  form->addRow(tr("Token pack"), packRow);
  connect(packBrowse, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Token pack (kanana data pack)"), context_->workspacePath());
    if (!dir.isEmpty()) setCalibrationPack(dir);
  });
  samples_ = spin(1, 1 << 20, 256, impBox);
  seqLen_ = spin(2, 1 << 16, 128, impBox);
  batchSize_ = spin(1, 4096, 8, impBox);
  auto* sizes = new QHBoxLayout;
  sizes->addWidget(samples_);
  sizes->addWidget(new QLabel(QStringLiteral("×"), impBox));
  sizes->addWidget(seqLen_);
  form->addRow(tr("Samples × tokens"), sizes);
  form->addRow(tr("Batch size"), batchSize_);
  batchAgg_ = aggCombo({QStringLiteral("l2"), QStringLiteral("mean"), QStringLiteral("sum"), QStringLiteral("max")}, impBox);
  seqAgg_ = aggCombo({QStringLiteral("mean"), QStringLiteral("l2"), QStringLiteral("sum"), QStringLiteral("max")}, impBox);
  auto* aggs = new QHBoxLayout;
  aggs->addWidget(new QLabel(tr("batch"), impBox));
  aggs->addWidget(batchAgg_);
  aggs->addWidget(new QLabel(tr("sequence"), impBox));
  aggs->addWidget(seqAgg_);
  form->addRow(tr("Aggregation"), aggs);
  layerLoss_ = new QCheckBox(tr("loss with each layer dropped"), impBox);
  layerLoss_->setChecked(true);
  sumLayers_ = new QCheckBox(tr("channel scores summed over layers"), impBox);
  sumLayers_->setChecked(true);
  form->addRow(layerLoss_);
  form->addRow(sumLayers_);
  auto* buttons = new QHBoxLayout;
  estimate_ = new QPushButton(tr("Estimate"), impBox);
  loadScores_ = new QPushButton(tr("Load scores…"), impBox);
  cancel_ = new QPushButton(tr("Cancel"), impBox);
  cancel_->setEnabled(false);
  buttons->addWidget(estimate_);
  buttons->addWidget(loadScores_);
  buttons->addWidget(cancel_);
  form->addRow(buttons);
  progress_ = new QProgressBar(impBox);
  progress_->setVisible(false);
  form->addRow(progress_);
  scoresLabel_ = new QLabel(tr("No scores."), impBox);
  scoresLabel_->setWordWrap(true);
  form->addRow(scoresLabel_);
  col->addWidget(impBox);
  connect(estimate_, &QPushButton::clicked, this, &SurgeryPage::estimateImportance);
  connect(cancel_, &QPushButton::clicked, controller_, &SurgeryController::cancel);
  connect(loadScores_, &QPushButton::clicked, this, [this] {
    if (!session_->hasModel()) return;
    const QString file = QFileDialog::getOpenFileName(this, tr("Importance scores"), QDir(context_->workspacePath()).filePath(QStringLiteral("surgery")),
                                                      tr("Importance JSON (*.json)"));
    if (file.isEmpty()) return;
    setBusy(true, tr("checking %1 against the model…").arg(QFileInfo(file).fileName()));
    controller_->loadScores(session_->modelPath(), file);
  });

  // ---- target
  auto* targetBox = new QGroupBox(tr("Target shape"), box);
  auto* tf = new QFormLayout(targetBox);
  layers_ = spin(1, 1, 1, targetBox);
  hidden_ = spin(1, 1, 1, targetBox);
  intermediate_ = spin(1, 1, 1, targetBox);
  headsPerGroup_ = spin(1, 1, 1, targetBox);
  tie_ = new QCheckBox(tr("tie input/output embeddings (average)"), targetBox);
  depthMetric_ = new QComboBox(targetBox);
  depthMetric_->addItems({tr("loss increase"), tr("block importance")});
  tf->addRow(tr("Layers"), layers_);
  tf->addRow(tr("Hidden size"), hidden_);
  tf->addRow(tr("MLP size"), intermediate_);
  tf->addRow(tr("Query heads / kv group"), headsPerGroup_);
  tf->addRow(tie_);
  tf->addRow(tr("Layer ranking"), depthMetric_);
  previewLabel_ = new QLabel(targetBox);
  previewLabel_->setWordWrap(true);
  previewLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  tf->addRow(previewLabel_);
  errorLabel_ = new QLabel(targetBox);
  errorLabel_->setWordWrap(true);
  errorLabel_->setStyleSheet(QStringLiteral("color: #c0392b"));
  tf->addRow(errorLabel_);
  col->addWidget(targetBox);
  for (QSpinBox* s : {layers_, hidden_, intermediate_, headsPerGroup_})
    connect(s, &QSpinBox::valueChanged, this, &SurgeryPage::onTargetEdited);
  connect(tie_, &QCheckBox::toggled, this, &SurgeryPage::onTargetEdited);
  connect(depthMetric_, &QComboBox::currentIndexChanged, this, [this](int i) { session_->setDepthByLoss(i == 0); });

  // ---- pipeline
  auto* pipeBox = new QGroupBox(tr("Prune → distill"), box);
  auto* pf = new QFormLayout(pipeBox);
  steps_ = spin(1, 32, 2, pipeBox);
  tokens_ = spin(4096, 2000000000, 204800, pipeBox);
  tokens_->setSingleStep(20480);
  lr_ = new QDoubleSpinBox(pipeBox);
  lr_->setDecimals(6);
  lr_->setRange(1e-6, 1.0);
  lr_->setSingleStep(1e-4);
  lr_->setValue(1e-3);
  temperature_ = new QDoubleSpinBox(pipeBox);
  temperature_->setRange(0.1, 20.0);
  temperature_->setValue(1.0);
  alpha_ = new QDoubleSpinBox(pipeBox);
  alpha_->setRange(0.0, 1.0);
  alpha_->setSingleStep(0.1);
  topK_ = spin(0, 1 << 20, 0, pipeBox);
  topK_->setSpecialValueText(tr("all logits"));
  runName_ = new QLineEdit(QStringLiteral("prune-distill"), pipeBox);
  pf->addRow(tr("Pruning steps"), steps_);
  pf->addRow(tr("Distillation tokens"), tokens_);
  pf->addRow(tr("Peak LR"), lr_);
  pf->addRow(tr("Temperature"), temperature_);
  pf->addRow(tr("LM loss weight α"), alpha_);
  pf->addRow(tr("Teacher top-k"), topK_);
  pf->addRow(tr("Run name"), runName_);
  launch_ = new QPushButton(tr("Launch prune → distill"), pipeBox);
  pf->addRow(launch_);
  pipelineLabel_ = new QLabel(tr("Distils on the calibration pack's data; the run appears on the Jobs page."), pipeBox);
  pipelineLabel_->setWordWrap(true);
  pf->addRow(pipelineLabel_);
  col->addWidget(pipeBox);
  connect(launch_, &QPushButton::clicked, this, &SurgeryPage::launchPipeline);
  col->addStretch(1);
  return box;
}

QWidget* SurgeryPage::buildCompareTab() {
  auto* w = new QWidget(this);
  auto* col = new QVBoxLayout(w);
  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel(tr("Run"), w));
  runCombo_ = new QComboBox(w);
  runCombo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  top->addWidget(runCombo_, 1);
  compareLabel_ = new QLabel(w);
  top->addWidget(compareLabel_, 2);
  col->addLayout(top);
  valPlot_ = new gui::MetricPlot(w);
  valPlot_->setTitle(tr("Validation loss: student (distilling) vs teacher"));
  valPlot_->setAxisLabels(tr("tokens"), tr("loss (nats)"));
  valPlot_->setMinimumHeight(220);
  klPlot_ = new gui::MetricPlot(w);
  klPlot_->setTitle(tr("KL(teacher ‖ student)"));
  klPlot_->setAxisLabels(tr("tokens"), tr("nats / token"));
  auto* plots = new QHBoxLayout;
  plots->addWidget(valPlot_, 3);
  plots->addWidget(klPlot_, 2);
  col->addLayout(plots, 3);
  auto* gen = new QHBoxLayout;
  prompt_ = new QLineEdit(QStringLiteral("한국어"), w);
  prompt_->setPlaceholderText(tr("Prompt"));
  generate_ = new QPushButton(tr("Generate side by side"), w);
  gen->addWidget(prompt_, 1);
  gen->addWidget(generate_);
  col->addLayout(gen);
  auto* texts = new QHBoxLayout;
  for (int i = 0; i < 2; ++i) {
    auto* c = new QVBoxLayout;
    c->addWidget(new QLabel(i == 0 ? tr("Teacher") : tr("Student"), w));
    auto* t = new QPlainTextEdit(w);
    t->setReadOnly(true);
    c->addWidget(t);
    texts->addLayout(c);
    (i == 0 ? teacherText_ : studentText_) = t;
  }
  col->addLayout(texts, 2);
  connect(generate_, &QPushButton::clicked, this, &SurgeryPage::generateSideBySide);
  connect(prompt_, &QLineEdit::returnPressed, this, &SurgeryPage::generateSideBySide);
  connect(runCombo_, &QComboBox::activated, this, [this](int i) { followRun(runCombo_->itemData(i).toString()); });
  return w;
}

void SurgeryPage::refreshWorkspace() {
  const QString ws = context_->workspacePath();
  const QString currentModel = session_->modelPath();
  modelCombo_->clear();
  for (const auto& m : findModels(ws)) modelCombo_->addItem(m.label, m.path);
  // Checkpoints recorded in the workspace but stored elsewhere.
  if (auto w = context_->workspace()) {
    if (auto ckpts = w->list_present_checkpoints()) {
      for (const auto& c : *ckpts) {
        const QString path = QString::fromStdString(c.path);
        if (modelCombo_->findData(path) < 0 && QFileInfo::exists(path + QStringLiteral("/config.json")))
          modelCombo_->addItem(QString::fromStdString(c.name), path);
      }
    }
  }
  if (!currentModel.isEmpty() && modelCombo_->findData(currentModel) < 0) modelCombo_->addItem(currentModel, currentModel);
  const QString currentPack = packCombo_->currentData().toString();
  packCombo_->clear();
  for (const auto& p : findPacks(ws)) packCombo_->addItem(p.label, p.path);
  if (!currentPack.isEmpty()) setCalibrationPack(currentPack);
  const QString currentRun = runDir_;
  runCombo_->clear();
  const QDir runs(QDir(ws).filePath(QStringLiteral("runs")));
  for (const QFileInfo& d : runs.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Time))
    if (QFileInfo::exists(d.filePath() + QStringLiteral("/pipeline.json"))) runCombo_->addItem(d.fileName(), d.absoluteFilePath());
  if (!currentRun.isEmpty()) runCombo_->setCurrentIndex(std::max(0, runCombo_->findData(currentRun)));
  if (!currentModel.isEmpty()) {
    modelCombo_->setCurrentIndex(modelCombo_->findData(currentModel));
  } else if (modelCombo_->count() > 0) {
    openModel(modelCombo_->itemData(0).toString());
  }
  if (runDir_.isEmpty() && runCombo_->count() > 0) followRun(runCombo_->itemData(0).toString());
}

void SurgeryPage::onModelChosen(int index) {
  const QString path = modelCombo_->itemData(index).toString();
  if (!path.isEmpty() && path != session_->modelPath()) openModel(path);
}

bool SurgeryPage::openModel(const QString& dir) {
  QString error;
  if (!session_->openModel(dir, &error)) {
    shapeLabel_->setText(QStringLiteral("<span style='color:#c0392b'>%1</span>").arg(error.toHtmlEscaped()));
    context_->logError(kSource, error);
    return false;
  }
  const QString abs = session_->modelPath();
  int i = modelCombo_->findData(abs);
  if (i < 0) {
    modelCombo_->addItem(QDir(abs).dirName(), abs);
    i = modelCombo_->count() - 1;
  }
  modelCombo_->setCurrentIndex(i);
  // Scores saved earlier for this model are shown right away: the controller loads the
  // weights and keeps the first saved file whose fingerprint matches.
  const QStringList saved = importanceFilesFor(context_->workspacePath(), session_->config());
  if (!saved.isEmpty()) {
    setBusy(true, tr("looking for saved scores of this model…"));
    controller_->findSavedScores(abs, saved);
  }
  return true;
}

void SurgeryPage::setCalibrationPack(const QString& dir) {
  const QString abs = QDir(dir).absolutePath();
  int i = packCombo_->findData(abs);
  if (i < 0) {
    packCombo_->addItem(QDir(abs).dirName(), abs);
    i = packCombo_->count() - 1;
  }
  packCombo_->setCurrentIndex(i);
}

void SurgeryPage::onModelChanged() {
  const auto& c = session_->config();
  updatingSpins_ = true;
  layers_->setRange(1, int(c.num_hidden_layers));
  layers_->setValue(int(c.num_hidden_layers));
  hidden_->setRange(1, int(c.hidden_size));
  hidden_->setValue(int(c.hidden_size));
  hidden_->setSingleStep(std::max(1, int(c.hidden_size / 32)));
  intermediate_->setRange(1, int(c.intermediate_size));
  intermediate_->setValue(int(c.intermediate_size));
  intermediate_->setSingleStep(std::max(1, int(c.intermediate_size / 32)));
  headsPerGroup_->setRange(1, int(c.kv_groups()));
  headsPerGroup_->setValue(int(c.kv_groups()));
  tie_->setChecked(c.tie_word_embeddings);
  tie_->setEnabled(!c.tie_word_embeddings);
  updatingSpins_ = false;
  session_->setContextLength(seqLen_->value());
  const auto st = surgery::shape_stats(c, seqLen_->value());
  shapeLabel_->setText(tr("<b>%1</b><br>%2<br>%3 parameters (%4 non-embedding)<br>%5 FLOPs/token forward at %6 tokens")
                           .arg(QDir(session_->modelPath()).dirName().toHtmlEscaped())
                           .arg(QString::fromStdString(surgery::describe_shape(c)).toHtmlEscaped())
                           .arg(humanCount(double(st.parameters)))
                           .arg(humanCount(double(st.non_embedding_parameters)))
                           .arg(humanCount(st.flops_per_token))
                           .arg(seqLen_->value()));
  onTargetEdited();
}

void SurgeryPage::onScoresChanged() {
  auto s = session_->scores();
  view_->setScores(s);
  if (!s) {
    scoresLabel_->setText(tr("No scores: estimate them on a calibration pack, or load a saved file."));
    return;
  }
  scoresLabel_->setText(tr("%1 rows, %2 tokens, base loss %3 (%4 / %5)<br><small>%6</small>")
                            .arg(s->samples)
                            .arg(s->tokens)
                            .arg(s->base_loss, 0, 'f', 4)
                            .arg(QString::fromLatin1(surgery::aggregation_name(s->options.batch)))
                            .arg(QString::fromLatin1(surgery::aggregation_name(s->options.sequence)))
                            .arg(QFileInfo(session_->scoresFile()).fileName().toHtmlEscaped()));
}

void SurgeryPage::onTargetEdited() {
  if (updatingSpins_ || !session_->hasModel()) return;
  const auto& c = session_->config();
  surgery::TargetShape t;
  if (layers_->value() != c.num_hidden_layers) t.num_hidden_layers = layers_->value();
  if (hidden_->value() != c.hidden_size) t.hidden_size = hidden_->value();
  if (intermediate_->value() != c.intermediate_size) t.intermediate_size = intermediate_->value();
  if (headsPerGroup_->value() != c.kv_groups()) t.heads_per_group = headsPerGroup_->value();
  if (tie_->isChecked() && !c.tie_word_embeddings) t.tie_word_embeddings = true;
  session_->setTarget(t);
}

void SurgeryPage::onPreviewChanged() {
  const auto& p = session_->preview();
  errorLabel_->setText(p.error);
  view_->setPlan(p.plan);
  if (!p.valid) {
    previewLabel_->setText(QString());
    launch_->setEnabled(false);
    return;
  }
  launch_->setEnabled(!controller_->busy());
  QString text = tr("<b>%1</b> parameters (%2 of the source), %3 non-embedding (%4)<br>"
                    "<b>%5</b> FLOPs/token (%6)")
                     .arg(humanCount(double(p.target.parameters)))
                     .arg(pct(double(p.target.parameters), double(p.source.parameters)))
                     .arg(humanCount(double(p.target.non_embedding_parameters)))
                     .arg(pct(double(p.target.non_embedding_parameters), double(p.source.non_embedding_parameters)))
                     .arg(humanCount(p.target.flops_per_token))
                     .arg(pct(p.target.flops_per_token, p.source.flops_per_token));
  if (p.removed) {
    text += tr("<br>Importance mass removed: layers %1, heads %2, neurons %3, channels %4")
                .arg(massText(p.removed->layers))
                .arg(massText(p.removed->heads))
                .arg(massText(p.removed->neurons))
                .arg(massText(p.removed->channels));
  } else if (!p.plan) {
    text += tr("<br><i>Estimate or load importance scores to see what would be removed.</i>");
  }
  previewLabel_->setText(text);
}

void SurgeryPage::setBusy(bool busy, const QString& what) {
  estimate_->setEnabled(!busy);
  loadScores_->setEnabled(!busy);
  cancel_->setEnabled(busy);
  progress_->setVisible(busy);
  if (busy) {
    progress_->setRange(0, 0);
    scoresLabel_->setText(what);
  }
}

void SurgeryPage::estimateImportance() {
  if (!session_->hasModel()) return;
  const QString pack = packCombo_->currentData().toString();
  if (pack.isEmpty()) {
    scoresLabel_->setText(QStringLiteral("<span style='color:#c0392b'>%1</span>").arg(tr("Choose a calibration token pack first.")));
    return;
  }
  ImportanceRequest r;
  r.model = session_->modelPath();
  r.pack = pack;
  r.samples = samples_->value();
  r.seqLen = seqLen_->value();
  r.options.batch = *surgery::parse_aggregation(batchAgg_->currentText().toStdString());
  r.options.sequence = *surgery::parse_aggregation(seqAgg_->currentText().toStdString());
  r.options.batch_size = batchSize_->value();
  r.options.layer_loss = layerLoss_->isChecked();
  r.options.sum_channels_over_layers = sumLayers_->isChecked();
  r.outFile = importanceFileFor(context_->workspacePath().isEmpty() ? QDir::tempPath() : context_->workspacePath(), r.model);
  r.threads = context_->torchThreads() > 0 ? context_->torchThreads() : QThread::idealThreadCount();
  setBusy(true, tr("estimating importance on %1…").arg(QDir(pack).dirName()));
  session_->setContextLength(r.seqLen);
  controller_->computeImportance(r);
}

PipelineSettings SurgeryPage::pipelineSettings() const {
  PipelineSettings s;
  s.teacher = session_->modelPath();
  s.target = session_->target();
  s.steps = steps_->value();
  s.importance.batch = *surgery::parse_aggregation(batchAgg_->currentText().toStdString());
  s.importance.sequence = *surgery::parse_aggregation(seqAgg_->currentText().toStdString());
  s.importance.batch_size = batchSize_->value();
  s.importance.layer_loss = layerLoss_->isChecked();
  s.importance.sum_channels_over_layers = sumLayers_->isChecked();
  s.calibrationPack = packCombo_->currentData().toString();
  s.calibrationSamples = samples_->value();
  s.calibrationSeqLen = seqLen_->value();
  if (session_->scores()) s.importanceFile = session_->scoresFile();
  // Distil on every pack of the calibration pack's folder (e.g. en + ko), else on that pack.
  if (!s.calibrationPack.isEmpty()) {
    QDir parent(s.calibrationPack);
    parent.cdUp();
    for (const QFileInfo& d : parent.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
      if (QFileInfo::exists(d.filePath() + QStringLiteral("/manifest.json"))) s.trainPacks << d.absoluteFilePath();
    if (s.trainPacks.isEmpty()) s.trainPacks << s.calibrationPack;
  }
  s.tokenBudget = tokens_->value();
  s.seqLen = seqLen_->value();
  s.peakLr = lr_->value();
  s.temperature = temperature_->value();
  s.alpha = alpha_->value();
  s.topK = topK_->value();
  return s;
}

void SurgeryPage::launchPipeline() {
  if (!session_->hasModel() || !session_->preview().valid) return;
  if (context_->workspacePath().isEmpty()) {
    pipelineLabel_->setText(tr("Open a workspace first: runs are recorded there."));
    return;
  }
  launch_->setEnabled(false);
  pipelineLabel_->setText(tr("Launching…"));
  controller_->launchPipeline(runName_->text().trimmed(), pipelineSettings());
}

void SurgeryPage::followRun(const QString& runDir) {
  if (runDir.isEmpty()) return;
  runDir_ = QDir(runDir).absolutePath();
  int i = runCombo_->findData(runDir_);
  if (i < 0) {
    runCombo_->addItem(QDir(runDir_).dirName(), runDir_);
    i = runCombo_->count() - 1;
  }
  runCombo_->setCurrentIndex(i);
  valPlot_->clear();
  klPlot_->clear();
  lastTeacherVal_ = lastStudentVal_ = -1;
  tailer_ = std::make_unique<jobs::EventTailer>((runDir_ + QStringLiteral("/events.jsonl")).toStdString());
  pollRun();
  pollTimer_->start();
}

void SurgeryPage::pollRun() {
  if (!tailer_) return;
  // events.jsonl grows by a line per step: reading the new lines is a small, bounded read.
  auto batch = tailer_->poll();
  if (!batch) return;
  for (const auto& e : batch->events) {
    if (e.type == "state") {
      const std::string state = e.json.value("state", "");
      compareLabel_->setText(tr("state: %1").arg(QString::fromStdString(state)));
      if (state == "finished" || state == "failed" || state == "cancelled") pollTimer_->stop();
      continue;
    }
    if (e.type != "metric" || !e.json.contains("metrics")) continue;
    const Json& m = e.json["metrics"];
    const double x = e.json.value("tokens", double(e.step.value_or(0)));
    if (m.contains("val_loss")) {
      lastStudentVal_ = m["val_loss"].get<double>();
      valPlot_->addPoint(tr("student val_loss"), x, lastStudentVal_);
    }
    if (m.contains("val_loss_teacher")) {
      lastTeacherVal_ = m["val_loss_teacher"].get<double>();
      valPlot_->addPoint(tr("teacher val_loss"), x, lastTeacherVal_);
    }
    if (m.contains("val_kl")) klPlot_->addPoint(tr("validation (T = 1)"), x, m["val_kl"].get<double>());
    if (m.contains("kl")) klPlot_->addPoint(tr("training (at T)"), x, m["kl"].get<double>());
  }
  if (lastStudentVal_ >= 0 && lastTeacherVal_ >= 0)
    compareLabel_->setText(tr("validation loss: teacher %1, student %2 (gap %3)")
                               .arg(lastTeacherVal_, 0, 'f', 3)
                               .arg(lastStudentVal_, 0, 'f', 3)
                               .arg(lastStudentVal_ - lastTeacherVal_, 0, 'f', 3));
}

void SurgeryPage::generateSideBySide() {
  if (runDir_.isEmpty()) {
    teacherText_->setPlainText(tr("Follow a prune → distill run first (Run above)."));
    return;
  }
  auto j = read_json_file((runDir_ + QStringLiteral("/pipeline.json")).toStdString());
  if (!j || !j->contains("teacher")) {
    teacherText_->setPlainText(tr("%1 has no pipeline.json").arg(runDir_));
    return;
  }
  const QString teacher = QString::fromStdString((*j)["teacher"].get<std::string>());
  QString student = QString::fromStdString(j->value("final_checkpoint", j->value("student", std::string())));
  generate_->setEnabled(false);
  teacherText_->setPlainText(tr("generating…"));
  studentText_->setPlainText(tr("generating…"));
  controller_->generate(teacher, student, prompt_->text(), 48);
}

}  // namespace kanana::surgeryplugin
