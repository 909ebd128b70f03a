// Shared Playground widgets (see playground_widgets.h).
#include "playground_widgets.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <filesystem>

#include "sdk/workbench_context.h"
#include "store/workspace.h"

namespace kanana::playground {

QScrollArea* settingsScrollArea(QWidget* settings, QWidget* parent) {
  auto* scroll = new QScrollArea(parent);
  scroll->setWidget(settings);
  scroll->setWidgetResizable(true);
  scroll->setMinimumWidth(330);
  scroll->setMaximumWidth(440);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  return scroll;
}

QString escapeHtml(const QString& text) {
  QString s = text.toHtmlEscaped();
  s.replace(QLatin1Char('\n'), QStringLiteral("<br>"));
  return s;
}

// ---------------------------------------------------------------- SamplingPanel

SamplingPanel::SamplingPanel(QWidget* parent) : QWidget(parent) {
  auto* form = new QFormLayout(this);
  form->setContentsMargins(0, 0, 0, 0);
  maxNew_ = new QSpinBox(this);
  maxNew_->setRange(1, 32768);
  maxNew_->setObjectName(QStringLiteral("maxNewTokens"));
  temperature_ = new QDoubleSpinBox(this);
  temperature_->setRange(0, 5);
  temperature_->setSingleStep(0.05);
  topP_ = new QDoubleSpinBox(this);
  topP_->setRange(0.01, 1);
  topP_->setSingleStep(0.05);
  topK_ = new QSpinBox(this);
  topK_->setRange(0, 100000);
  topK_->setSpecialValueText(tr("off"));
  minP_ = new QDoubleSpinBox(this);
  minP_->setRange(0, 1);
  minP_->setSingleStep(0.01);
  penalty_ = new QDoubleSpinBox(this);
  penalty_->setRange(0.5, 3);
  penalty_->setSingleStep(0.05);
  seed_ = new QSpinBox(this);
  seed_->setRange(0, 1 << 30);
  greedy_ = new QCheckBox(tr("greedy (argmax)"), this);
  greedy_->setObjectName(QStringLiteral("greedy"));
  form->addRow(tr("Max new tokens"), maxNew_);
  form->addRow(tr("Temperature"), temperature_);
  form->addRow(tr("Top-p"), topP_);
  form->addRow(tr("Top-k"), topK_);
  form->addRow(tr("Min-p"), minP_);
  form->addRow(tr("Repetition penalty"), penalty_);
  form->addRow(tr("Seed"), seed_);
  form->addRow(QString(), greedy_);
  setSampling({});
  for (QSpinBox* s : {maxNew_, topK_, seed_}) connect(s, &QSpinBox::valueChanged, this, &SamplingPanel::changed);
  for (QDoubleSpinBox* s : {temperature_, topP_, minP_, penalty_})
    connect(s, &QDoubleSpinBox::valueChanged, this, &SamplingPanel::changed);
  connect(greedy_, &QCheckBox::toggled, this, [this](bool on) {
    for (QWidget* w : std::initializer_list<QWidget*>{temperature_, topP_, topK_, minP_}) w->setEnabled(!on);
    Q_EMIT changed();
  });
}

chat::ChatSampling SamplingPanel::sampling() const {
  chat::ChatSampling s;
  s.max_new_tokens = maxNew_->value();
  s.temperature = temperature_->value();
  s.top_p = topP_->value();
  s.top_k = topK_->value();
  s.min_p = minP_->value();
  s.repetition_penalty = penalty_->value();
  s.seed = static_cast<uint64_t>(seed_->value());
  s.greedy = greedy_->isChecked();
  return s;
}

void SamplingPanel::setSampling(const chat::ChatSampling& s) {
  maxNew_->setValue(static_cast<int>(s.max_new_tokens));
  temperature_->setValue(s.temperature);
  topP_->setValue(s.top_p);
  topK_->setValue(static_cast<int>(s.top_k));
  minP_->setValue(s.min_p);
  penalty_->setValue(s.repetition_penalty);
  seed_->setValue(static_cast<int>(s.seed));
  greedy_->setChecked(s.greedy);
}

// ---------------------------------------------------------------- CheckpointPicker

CheckpointPicker::CheckpointPicker(gui::WorkbenchContext* context, QWidget* parent)
    : QWidget(parent), context_(context), placeholder_(tr("(pick a checkpoint)")) {
  auto* row = new QHBoxLayout(this);
  row->setContentsMargins(0, 0, 0, 0);
  combo_ = new QComboBox(this);
  combo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  combo_->setMinimumContentsLength(10);
  browse_ = new QToolButton(this);
  browse_->setText(QStringLiteral("…"));
  browse_->setToolTip(tr("Choose a model folder"));
  row->addWidget(combo_, 1);
  row->addWidget(browse_);
  connect(combo_, &QComboBox::activated, this, [this](int i) { Q_EMIT chosen(combo_->itemData(i).toString()); });
  connect(browse_, &QToolButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Model folder (config.json + *.safetensors)"),
                                                          context_ ? context_->workspacePath() : QDir::homePath());
    if (dir.isEmpty()) return;
    setCurrentDir(dir);
    Q_EMIT chosen(dir);
  });
  if (context_) connect(context_, &gui::WorkbenchContext::workspaceChanged, this, &CheckpointPicker::refresh);
  refresh();
}

void CheckpointPicker::setPlaceholder(const QString& text) {
  placeholder_ = text;
  if (combo_->count() > 0 && combo_->itemData(0).toString().isEmpty()) combo_->setItemText(0, text);
}

void CheckpointPicker::refresh() {
  const QString keep = currentDir();
  combo_->clear();
  combo_->addItem(placeholder_, QString());
  QStringList seen;
  const auto add = [&](const QString& label, const QString& dir) {
    const QString canonical = QFileInfo(dir).canonicalFilePath();
    if (canonical.isEmpty() || seen.contains(canonical)) return;
    seen << canonical;
    combo_->addItem(label, canonical);
    combo_->setItemData(combo_->count() - 1, canonical, Qt::ToolTipRole);
  };
  std::shared_ptr<store::Workspace> ws = context_ ? context_->workspace() : nullptr;
  if (ws) {
    if (auto list = ws->list_present_checkpoints(); list.is_ok())
      for (const auto& c : *list)
        add(QString::fromStdString(c.name), QString::fromStdString(ws->resolve(c.path).string()));
    for (const auto& base : {ws->runs_dir(), ws->models_dir()})
      for (const auto& dir : chat::find_model_folders(base)) {
        const auto rel = dir.lexically_relative(ws->root());
        add(QString::fromStdString(rel.string()), QString::fromStdString(dir.string()));
      }
  }
  if (!keep.isEmpty()) setCurrentDir(keep);
}

QString CheckpointPicker::currentDir() const { return combo_->currentData().toString(); }

void CheckpointPicker::setCurrentDir(const QString& dir) {
  const QString canonical = QFileInfo(dir).canonicalFilePath();
  int i = combo_->findData(canonical.isEmpty() ? dir : canonical);
  if (i < 0) {
    combo_->addItem(QDir(dir).dirName(), canonical.isEmpty() ? dir : canonical);
    i = combo_->count() - 1;
    combo_->setItemData(i, dir, Qt::ToolTipRole);
  }
  combo_->setCurrentIndex(i);
}

// ---------------------------------------------------------------- TranscriptView

TranscriptView::TranscriptView(QWidget* parent) : QTextBrowser(parent) {
  setOpenLinks(false);
  setOpenExternalLinks(false);
  connect(this, &QTextBrowser::anchorClicked, this, [this](const QUrl& url) {
    const QString s = url.toString();
    if (s.startsWith(QLatin1String("edit:"))) Q_EMIT editRequested(s.mid(5).toInt());
  });
}

void TranscriptView::showTurns(const std::vector<ChatTurn>& turns, const QString& system, const QString& streaming, bool busy) {
  QString html = QStringLiteral("<html><body style='font-size:10pt'>");
  if (!title_.isEmpty()) html += QStringLiteral("<p><b>%1</b></p>").arg(escapeHtml(title_));
  if (!system.trimmed().isEmpty())
    html += QStringLiteral("<p style='color:#777'><i>system:</i> %1</p>").arg(escapeHtml(system));
  for (size_t i = 0; i < turns.size(); ++i) {
    const ChatTurn& t = turns[i];
    const bool user = t.message.role == "user";
    const QString color = user ? QStringLiteral("#1f5fa8") : QStringLiteral("#2e7d32");
    html += QStringLiteral("<table width='100%' cellspacing='0' cellpadding='6' style='background:%1'><tr><td>")
                .arg(user ? QStringLiteral("#eef4fb") : QStringLiteral("#f3f8f1"));
    html += QStringLiteral("<span style='color:%1'><b>%2</b></span>").arg(color, QString::fromStdString(t.message.role));
    if (!busy) html += QStringLiteral(" &nbsp;<a href='edit:%1' style='color:#888'>edit</a>").arg(i);
    html += QStringLiteral("<br>%1").arg(escapeHtml(QString::fromStdString(t.message.content)));
    if (!t.meta.isEmpty() && t.meta.contains("generated_tokens"))
      html += QStringLiteral("<br><span style='color:#999;font-size:8pt'>%1</span>").arg(escapeHtml(formatStats(t.meta)));
    else if (t.meta.value("edited").toBool())
      html += QStringLiteral("<br><span style='color:#999;font-size:8pt'>edited</span>");
    html += QStringLiteral("</td></tr></table><br>");
  }
  if (busy)
    html += QStringLiteral("<table width='100%' cellpadding='6' style='background:#f3f8f1'><tr><td><span style='color:#2e7d32'>"
                           "<b>assistant</b></span> <i style='color:#999'>writing…</i><br>%1▍</td></tr></table>")
                .arg(escapeHtml(streaming));
  html += QStringLiteral("</body></html>");
  setHtml(html);
  moveCursor(QTextCursor::End);
  ensureCursorVisible();
}

// ---------------------------------------------------------------- RawPromptDialog

RawPromptDialog::RawPromptDialog(const QString& title, const QString& text, const QVector<int>& ids,
                                 const QStringList& pieces, QWidget* parent)
    : QDialog(parent) {
  setWindowTitle(title);
  resize(900, 600);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(new QLabel(tr("%1 tokens, %2 characters").arg(ids.size()).arg(text.size()), this));
  auto* tabs = new QTabWidget(this);
  auto* rendered = new QPlainTextEdit(this);
  rendered->setObjectName(QStringLiteral("renderedPrompt"));
  rendered->setReadOnly(true);
  rendered->setPlainText(text);
  rendered->setFont(QFont(QStringLiteral("monospace")));
  tabs->addTab(rendered, tr("Rendered template"));
  auto* table = new QTableWidget(static_cast<int>(ids.size()), 3, this);
  table->setObjectName(QStringLiteral("promptTokens"));
  table->setHorizontalHeaderLabels({tr("#"), tr("id"), tr("piece")});
  table->verticalHeader()->hide();
  for (int i = 0; i < ids.size(); ++i) {
    table->setItem(i, 0, new QTableWidgetItem(QString::number(i)));
    table->setItem(i, 1, new QTableWidgetItem(QString::number(ids[i])));
    QString piece = i < pieces.size() ? pieces[i] : QString();
    piece.replace(QLatin1Char('\n'), QStringLiteral("\\n"));
    table->setItem(i, 2, new QTableWidgetItem(piece));
  }
  table->horizontalHeader()->setStretchLastSection(true);
  QStringList idText;
  for (int id : ids) idText << QString::number(id);
  auto* idsView = new QPlainTextEdit(idText.join(QLatin1Char(' ')), this);
  idsView->setReadOnly(true);
  tabs->addTab(table, tr("Tokens"));
  tabs->addTab(idsView, tr("Ids"));
  layout->addWidget(tabs, 1);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  layout->addWidget(buttons);
}

}  // namespace kanana::playground
