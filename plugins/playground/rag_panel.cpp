// RAG mode widgets (see rag_panel.h).
#include "rag_panel.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "playground_engine.h"
#include "playground_widgets.h"
#include "rag/prompt.h"
#include "rag/rag_index.h"
#include "sdk/workbench_context.h"
#include "store/workspace.h"

namespace kanana::playground {

RagPanel::RagPanel(gui::WorkbenchContext* context, QWidget* parent) : QWidget(parent), context_(context) {
  engine_ = new PlaygroundEngine(this);

  auto* settingsBox = new QWidget(this);
  auto* left = new QVBoxLayout(settingsBox);
  left->setContentsMargins(0, 0, 0, 0);

  auto* indexBox = new QGroupBox(tr("Index"), settingsBox);
  auto* indexForm = new QFormLayout(indexBox);
  index_ = new QComboBox(indexBox);
  index_->setObjectName(QStringLiteral("ragIndex"));
  index_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  index_->setMinimumContentsLength(8);
  auto* newIndex = new QPushButton(tr("New…"), indexBox);
  auto* indexRow = new QHBoxLayout;
  indexRow->addWidget(index_, 1);
  indexRow->addWidget(newIndex);
  indexForm->addRow(tr("Index"), indexRow);
  embedder_ = new CheckpointPicker(context, indexBox);
  embedder_->setObjectName(QStringLiteral("embedder"));
  embedder_->setPlaceholder(tr("(none: full-text search only)"));
  indexForm->addRow(tr("Embedding model"), embedder_);
  indexInfo_ = new QLabel(indexBox);
  indexInfo_->setWordWrap(true);
  indexInfo_->setStyleSheet(QStringLiteral("color:#666"));
  indexForm->addRow(indexInfo_);
  addFiles_ = new QPushButton(tr("Add files…"), indexBox);
  addFolder_ = new QPushButton(tr("Add folder…"), indexBox);
  auto* addRow = new QHBoxLayout;
  addRow->addWidget(addFiles_);
  addRow->addWidget(addFolder_);
  indexForm->addRow(addRow);
  datasets_ = new QComboBox(indexBox);
  datasets_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  datasets_->setMinimumContentsLength(8);
  addDataset_ = new QPushButton(tr("Add"), indexBox);
  auto* dsRow = new QHBoxLayout;
  dsRow->addWidget(datasets_, 1);
  dsRow->addWidget(addDataset_);
  indexForm->addRow(tr("Dataset"), dsRow);
  progress_ = new QProgressBar(indexBox);
  progress_->setObjectName(QStringLiteral("ingestProgress"));
  progress_->setVisible(false);
  cancel_ = new QPushButton(tr("Cancel"), indexBox);
  cancel_->setVisible(false);
  auto* progressRow = new QHBoxLayout;
  progressRow->addWidget(progress_, 1);
  progressRow->addWidget(cancel_);
  indexForm->addRow(progressRow);
  left->addWidget(indexBox);

  auto* answerBox = new QGroupBox(tr("Answering"), settingsBox);
  auto* answerForm = new QFormLayout(answerBox);
  model_ = new CheckpointPicker(context, answerBox);
  model_->setObjectName(QStringLiteral("ragCheckpoint"));
  answerForm->addRow(tr("Checkpoint"), model_);
  modelInfo_ = new QLabel(tr("No checkpoint: retrieval only."), answerBox);
  modelInfo_->setWordWrap(true);
  modelInfo_->setStyleSheet(QStringLiteral("color:#666"));
  answerForm->addRow(modelInfo_);
  mode_ = new QComboBox(answerBox);
  mode_->addItems({QStringLiteral("hybrid"), QStringLiteral("bm25"), QStringLiteral("vector")});
  answerForm->addRow(tr("Retrieval"), mode_);
  k_ = new QSpinBox(answerBox);
  k_->setRange(1, 20);
  k_->setValue(5);
  answerForm->addRow(tr("Passages"), k_);
  sampling_ = new SamplingPanel(answerBox);
  chat::ChatSampling s;
  s.temperature = 0.3;
  sampling_->setSampling(s);
  answerForm->addRow(sampling_);
  left->addWidget(answerBox);
  left->addStretch(1);
  QScrollArea* scroll = settingsScrollArea(settingsBox, this);

  auto* main = new QWidget(this);
  auto* right = new QVBoxLayout(main);
  right->setContentsMargins(0, 0, 0, 0);
  auto* askRow = new QHBoxLayout;
  question_ = new QLineEdit(main);
  question_->setObjectName(QStringLiteral("ragQuestion"));
  question_->setPlaceholderText(tr("Ask the documents, e.g. 데비안 패키지는 어떻게 설치하나요?"));
  askButton_ = new QPushButton(tr("Ask"), main);
  askButton_->setObjectName(QStringLiteral("ragAsk"));
  auto* stop = new QPushButton(tr("Stop"), main);
  askRow->addWidget(question_, 1);
  askRow->addWidget(askButton_);
  askRow->addWidget(stop);
  right->addLayout(askRow);
  auto* split = new QSplitter(Qt::Vertical, main);
  answerView_ = new QTextBrowser(split);
  answerView_->setObjectName(QStringLiteral("ragAnswer"));
  answerView_->setOpenLinks(false);
  auto* bottom = new QSplitter(Qt::Horizontal, split);
  sources_ = new QListWidget(bottom);
  sources_->setObjectName(QStringLiteral("ragSources"));
  passage_ = new QTextBrowser(bottom);
  passage_->setObjectName(QStringLiteral("ragPassage"));
  passage_->setPlaceholderText(tr("Click a citation [n] or a source to read the passage."));
  split->addWidget(answerView_);
  split->addWidget(bottom);
  right->addWidget(split, 1);

  auto* outer = new QSplitter(Qt::Horizontal, this);
  outer->addWidget(scroll);
  outer->addWidget(main);
  outer->setStretchFactor(1, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  layout->addWidget(outer);

  connect(newIndex, &QPushButton::clicked, this, [this] {
    auto ws = context_ ? context_->workspace() : nullptr;
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("New index"), tr("Index name (a folder under rag/):"),
                                               QLineEdit::Normal, QStringLiteral("docs"), &ok);
    if (!ok || name.trimmed().isEmpty()) return;
    const QString dir = ws ? QString::fromStdString(rag::workspace_index_dir(ws->root(), name.trimmed().toStdString()).string())
                           : QDir::home().filePath(QStringLiteral("kanana-rag/") + name.trimmed());
    setIndexDir(dir);
  });
  connect(index_, &QComboBox::currentIndexChanged, this, [this] { updateButtons(); });
  connect(addFiles_, &QPushButton::clicked, this, [this] {
    const QStringList files = QFileDialog::getOpenFileNames(
        this, tr("Documents"), context_ ? context_->dialogDir(QStringLiteral("data")) : QString(), tr("Documents (*.txt *.md *.markdown *.html *.htm *.jsonl);;All files (*)"));
    if (!files.isEmpty()) addPaths(files);
  });
  connect(addFolder_, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder of documents"), context_ ? context_->dialogDir(QStringLiteral("data")) : QString());
    if (!dir.isEmpty()) addPaths({dir});
  });
  connect(addDataset_, &QPushButton::clicked, this, [this] {
    const QString path = datasets_->currentData().toString();
    if (!path.isEmpty()) addPaths({path});
  });
  connect(cancel_, &QPushButton::clicked, engine_, &PlaygroundEngine::cancel);
  connect(stop, &QPushButton::clicked, engine_, &PlaygroundEngine::cancel);
  connect(askButton_, &QPushButton::clicked, this, [this] { ask(question_->text()); });
  connect(question_, &QLineEdit::returnPressed, this, [this] { ask(question_->text()); });
  connect(model_, &CheckpointPicker::chosen, this, [this](const QString& dir) {
    if (dir.isEmpty()) return;
    modelInfo_->setText(tr("Loading…"));
    engine_->loadModel(dir, context_ ? context_->torchThreads() : 0);
  });
  connect(engine_, &PlaygroundEngine::modelLoaded, this, [this](const QString&, const QString& summary, const QStringList& w) {
    modelInfo_->setText(summary + (w.isEmpty() ? QString() : QStringLiteral("\n⚠ ") + w.join(QStringLiteral("\n⚠ "))));
  });
  connect(engine_, &PlaygroundEngine::modelFailed, this,
          [this](const QString&, const QString& e) { modelInfo_->setText(tr("Could not load: %1").arg(e)); });
  connect(engine_, &PlaygroundEngine::busyChanged, this, &RagPanel::updateButtons);
  connect(engine_, &PlaygroundEngine::ingestProgress, this, [this](int, qint64 done, qint64 total) {
    progress_->setMaximum(total > 0 ? static_cast<int>(total) : 0);
    progress_->setValue(static_cast<int>(done));
  });
  connect(engine_, &PlaygroundEngine::ingestFinished, this, [this](int, const QJsonObject& r) {
    QString text = tr("%1 sources, %2 chunks, vector search: %3. Last ingest: %4 new, %5 replaced, %6 unchanged.")
                       .arg(r.value("sources").toInteger())
                       .arg(r.value("chunks").toInteger())
                       .arg(r.value("vector_index").toString())
                       .arg(r.value("sources_added").toInteger())
                       .arg(r.value("sources_replaced").toInteger())
                       .arg(r.value("sources_unchanged").toInteger());
    const QJsonArray problems = r.value("problems").toArray();
    if (!problems.isEmpty()) text += tr("\n%1 problem(s), e.g. %2").arg(problems.size()).arg(problems.first().toString());
    indexInfo_->setText(text);
    refreshIndexes();
  });
  connect(engine_, &PlaygroundEngine::ragSources, this, [this](int id, const QJsonArray& cites) {
    if (id != request_) return;
    citations_ = cites;
    sources_->clear();
    for (const QJsonValue& v : cites) {
      const QJsonObject c = v.toObject();
      auto* item = new QListWidgetItem(QStringLiteral("[%1] %2").arg(c.value("number").toInt()).arg(c.value("source").toString()), sources_);
      item->setData(Qt::UserRole, c.value("number").toInt());
      item->setToolTip(c.value("text").toString().left(500));
    }
    renderAnswer(true);
  });
  connect(engine_, &PlaygroundEngine::token, this, [this](int id, const QString& t) {
    if (id != request_) return;
    answer_ += t;
    renderAnswer(true);
  });
  connect(engine_, &PlaygroundEngine::replyFinished, this, [this](int id, const QString& text, const QJsonObject& stats) {
    if (id != request_) return;
    answer_ = text;
    renderAnswer(false);
    indexInfo_->setToolTip(formatStats(stats));
  });
  connect(engine_, &PlaygroundEngine::requestFailed, this, [this](int id, const QString& error) {
    if (id != request_) {
      indexInfo_->setText(error);  // an ingest
      return;
    }
    failure_ = error;
    renderAnswer(false);
  });
  connect(answerView_, &QTextBrowser::anchorClicked, this, [this](const QUrl& url) {
    if (url.scheme() == QLatin1String("cite")) openCitation(url.path().toInt());
  });
  connect(sources_, &QListWidget::itemClicked, this,
          [this](QListWidgetItem* item) { openCitation(item->data(Qt::UserRole).toInt()); });
  if (context_)
    connect(context_, &gui::WorkbenchContext::workspaceChanged, this, [this] {
      customIndex_.clear();
      refreshIndexes();
      refreshDatasets();
    });
  refreshIndexes();
  refreshDatasets();
  updateButtons();
}

RagSettings RagPanel::settings() const {
  RagSettings s;
  s.indexDir = index_->currentData().toString();
  s.embedder = embedder_->currentDir();
  s.tokenizer = model_->currentDir();
  s.k = k_->value();
  s.mode = mode_->currentText();
  return s;
}

void RagPanel::refreshIndexes() {
  const QString keep = index_->currentData().toString();
  index_->clear();
  auto ws = context_ ? context_->workspace() : nullptr;
  if (ws) {
    const QDir ragDir(QString::fromStdString((ws->root() / "rag").string()));
    for (const QString& name : ragDir.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
      index_->addItem(name, ragDir.filePath(name));
  }
  // A workspace without indexes offers a new one, so documents can be added straight away.
  if (ws && index_->count() == 0 && customIndex_.isEmpty())
    customIndex_ = QString::fromStdString(rag::workspace_index_dir(ws->root(), "docs").string());
  if (!customIndex_.isEmpty() && index_->findData(customIndex_) < 0)
    index_->addItem(QDir(customIndex_).dirName() + tr(" (new)"), customIndex_);
  const int i = index_->findData(keep.isEmpty() ? customIndex_ : keep);
  if (i >= 0) index_->setCurrentIndex(i);
}

void RagPanel::refreshDatasets() {
  datasets_->clear();
  auto ws = context_ ? context_->workspace() : nullptr;
  if (!ws) return;
  auto list = ws->list_datasets();
  if (!list.is_ok()) return;
  for (const auto& d : *list)
    if (d.format == "jsonl")
      datasets_->addItem(QString::fromStdString(d.name), QString::fromStdString(ws->resolve(d.path).string()));
}

void RagPanel::setIndexDir(const QString& dir) {
  customIndex_ = dir;
  refreshIndexes();
  index_->setCurrentIndex(index_->findData(dir));
  indexInfo_->setText(rag::RagIndex::exists(dir.toStdString()) ? QString() : tr("New index: add documents to create it."));
  updateButtons();
}

void RagPanel::addPaths(const QStringList& paths) {
  if (index_->currentData().toString().isEmpty()) {
    indexInfo_->setText(tr("Choose or create an index first."));
    return;
  }
  progress_->setVisible(true);
  cancel_->setVisible(true);
  progress_->setRange(0, 0);
  indexInfo_->setText(tr("Ingesting %1…").arg(paths.join(QStringLiteral(", "))));
  engine_->ingest(settings(), paths);
}

void RagPanel::ask(const QString& question) {
  if (question.trimmed().isEmpty() || engine_->busy()) return;
  answer_.clear();
  failure_.clear();
  citations_ = {};
  sources_->clear();
  passage_->clear();
  request_ = engine_->askRag(settings(), question, sampling_->sampling());
  renderAnswer(true);
}

void RagPanel::renderAnswer(bool streaming) {
  // [n] markers become links to their passages.
  std::vector<rag::Citation> cites;
  for (const QJsonValue& v : citations_) {
    rag::Citation c;
    c.number = v.toObject().value("number").toInt();
    cites.push_back(c);
  }
  const std::string text = answer_.toStdString();
  QString html;
  size_t at = 0;
  for (const auto& m : rag::find_citations(text, cites)) {
    html += escapeHtml(QString::fromStdString(text.substr(at, m.begin - at)));
    const QString marker = QString::fromStdString(text.substr(m.begin, m.end - m.begin));
    html += m.citation ? QStringLiteral("<a href='cite:%1'>%2</a>").arg(m.number).arg(marker.toHtmlEscaped())
                       : marker.toHtmlEscaped();
    at = m.end;
  }
  html += escapeHtml(QString::fromStdString(text.substr(std::min(at, text.size()))));
  if (streaming && engine_->busy()) html += QStringLiteral("▍");
  if (!streaming && answer_.isEmpty()) {
    // The real reason first: a failed request says why (a prompt longer than the model's
    // context, a missing model folder ...); only without one is a missing model the cause.
    const QString sources = citations_.isEmpty() ? QString() : tr(" The retrieved sources are listed below.");
    if (!failure_.isEmpty())
      html = tr("<i>No answer: %1.%2</i>").arg(failure_.toHtmlEscaped(), sources);
    else if (!engine_->hasModel() && !citations_.isEmpty())
      html = tr("<i>No answer generated: load a checkpoint to answer.%1</i>").arg(sources);
    else if (!citations_.isEmpty())
      html = tr("<i>The model generated no text.%1</i>").arg(sources);
  }
  answerView_->setHtml(html);
}

bool RagPanel::openCitation(int number) {
  for (const QJsonValue& v : citations_) {
    const QJsonObject c = v.toObject();
    if (c.value("number").toInt() != number) continue;
    rag::SourceSpan span;
    span.path = c.value("path").toString().toStdString();
    span.kind = c.value("kind").toString().toStdString();
    span.line = c.value("line").toInteger();
    span.record_id = c.value("record_id").toString().toStdString();
    span.begin = c.value("begin").toInteger();
    span.end = c.value("end").toInteger();
    auto passage = rag::read_cited_passage(span);
    QString html = QStringLiteral("<p><b>[%1]</b> <span style='color:#666'>%2</span></p>")
                       .arg(number)
                       .arg(c.value("source").toString().toHtmlEscaped());
    html += passage.is_ok() ? QStringLiteral("<p>%1</p>").arg(escapeHtml(QString::fromStdString(*passage)))
                            : QStringLiteral("<p style='color:#a00'>%1</p><p>%2</p>")
                                  .arg(escapeHtml(QString::fromStdString(passage.status().message())),
                                       escapeHtml(c.value("text").toString()));
    passage_->setHtml(html);
    for (int i = 0; i < sources_->count(); ++i)
      if (sources_->item(i)->data(Qt::UserRole).toInt() == number) sources_->setCurrentRow(i);
    return true;
  }
  return false;
}

void RagPanel::updateButtons() {
  const bool busy = engine_->busy();
  const bool hasIndex = !index_->currentData().toString().isEmpty();
  for (QPushButton* b : {addFiles_, addFolder_, addDataset_}) b->setEnabled(!busy && hasIndex);
  askButton_->setEnabled(!busy && hasIndex);
  if (!busy) {
    progress_->setVisible(false);
    cancel_->setVisible(false);
  }
}

}  // namespace kanana::playground
