// See log_console.h.
#include "log_console.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLineEdit>
#include <QScrollBar>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

#include "sdk/log_model.h"

namespace kanana::app {

using gui::LogLevel;
using gui::LogModel;

void LogFilterModel::setMinimumLevel(LogLevel level) {
  minimum_ = level;
  invalidateFilter();
}

void LogFilterModel::setText(const QString& text) {
  text_ = text;
  invalidateFilter();
}

bool LogFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const {
  const QModelIndex index = sourceModel()->index(sourceRow, LogModel::MessageColumn, sourceParent);
  if (index.data(LogModel::LevelRole).toInt() < int(minimum_)) return false;
  if (text_.isEmpty()) return true;
  const QString source = sourceModel()->index(sourceRow, LogModel::SourceColumn, sourceParent).data().toString();
  return index.data().toString().contains(text_, Qt::CaseInsensitive) || source.contains(text_, Qt::CaseInsensitive);
}

LogConsole::LogConsole(LogModel* model, QWidget* parent)
    : QWidget(parent), model_(model), filter_(new LogFilterModel(this)), view_(new QTableView(this)) {
  filter_->setSourceModel(model);

  level_ = new QComboBox(this);
  level_->addItem(tr("Debug and above"), int(LogLevel::Debug));
  level_->addItem(tr("Info and above"), int(LogLevel::Info));
  level_->addItem(tr("Warnings and errors"), int(LogLevel::Warning));
  level_->addItem(tr("Errors only"), int(LogLevel::Error));
  level_->setCurrentIndex(1);
  filter_->setMinimumLevel(LogLevel::Info);
  connect(level_, &QComboBox::currentIndexChanged, this,
          [this](int i) { filter_->setMinimumLevel(LogLevel(level_->itemData(i).toInt())); });

  search_ = new QLineEdit(this);
  search_->setPlaceholderText(tr("Filter messages"));
  search_->setClearButtonEnabled(true);
  connect(search_, &QLineEdit::textChanged, filter_, &LogFilterModel::setText);

  auto* copyButton = new QToolButton(this);
  copyButton->setText(tr("Copy"));
  copyButton->setToolTip(tr("Copy the selected lines, or every visible line"));
  connect(copyButton, &QToolButton::clicked, this, &LogConsole::copy);
  auto* clearButton = new QToolButton(this);
  clearButton->setText(tr("Clear"));
  connect(clearButton, &QToolButton::clicked, model_, &LogModel::clear);

  auto* bar = new QHBoxLayout;
  bar->setContentsMargins(6, 4, 6, 0);
  bar->setSpacing(6);
  bar->addWidget(level_);
  bar->addWidget(search_, 1);
  bar->addWidget(copyButton);
  bar->addWidget(clearButton);

  view_->setModel(filter_);
  view_->setObjectName(QStringLiteral("logView"));
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  view_->setShowGrid(false);
  view_->setWordWrap(false);
  view_->setAlternatingRowColors(true);
  view_->verticalHeader()->hide();
  view_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
  view_->horizontalHeader()->setStretchLastSection(true);
  view_->horizontalHeader()->setHighlightSections(false);
  view_->horizontalHeader()->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);
  view_->setColumnWidth(LogModel::TimeColumn, fontMetrics().horizontalAdvance(QStringLiteral("00:00:00.000__")));
  view_->setColumnWidth(LogModel::LevelColumn, fontMetrics().horizontalAdvance(QStringLiteral("warning___")));
  view_->setColumnWidth(LogModel::SourceColumn, fontMetrics().horizontalAdvance(QStringLiteral("workspace_____")));
  auto* copyAction = new QAction(tr("Copy"), view_);
  copyAction->setShortcut(QKeySequence::Copy);
  copyAction->setShortcutContext(Qt::WidgetShortcut);
  connect(copyAction, &QAction::triggered, this, &LogConsole::copy);
  view_->addAction(copyAction);
  view_->setContextMenuPolicy(Qt::ActionsContextMenu);

  // Follow the tail only while the user has not scrolled up to read something.
  connect(filter_, &QAbstractItemModel::rowsAboutToBeInserted, this, [this] {
    QScrollBar* bar = view_->verticalScrollBar();
    view_->setProperty("followTail", bar->value() >= bar->maximum() - 2);
  });
  connect(filter_, &QAbstractItemModel::rowsInserted, this, [this] {
    if (view_->property("followTail").toBool()) view_->scrollToBottom();
  });

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(4);
  layout->addLayout(bar);
  layout->addWidget(view_);
}

void LogConsole::copy() {
  QModelIndexList rows = view_->selectionModel()->selectedRows();
  QStringList lines;
  auto line = [this](int proxyRow) {
    const int row = filter_->mapToSource(filter_->index(proxyRow, 0)).row();
    return LogModel::format(model_->entries().at(row));
  };
  if (rows.isEmpty()) {
    for (int r = 0; r < filter_->rowCount(); ++r) lines.append(line(r));
  } else {
    std::sort(rows.begin(), rows.end(), [](const QModelIndex& a, const QModelIndex& b) { return a.row() < b.row(); });
    for (const QModelIndex& i : rows) lines.append(line(i.row()));
  }
  QApplication::clipboard()->setText(lines.join(u'\n') + u'\n');
}

}  // namespace kanana::app
