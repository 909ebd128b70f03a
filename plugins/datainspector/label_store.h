// LabelStore: good/bad labels for the quality classifier, given in the inspector's labelling
// mode. Each label is appended to a JSONL file and flushed at once (a crash loses nothing);
// a later label for the same document wins when the file is read back.
// Line shape: {"corpus": PATH, "line": N, "row": R, "id": SOURCE_ID, "label": "good"|"bad",
//              "time": ISO-8601, "text": TEXT}
//
// Threading contract: GUI thread (one writer per file).
#pragma once

#include <QFile>
#include <QHash>
#include <QString>

namespace kanana::datainspector {

class LabelStore {
 public:
  // Where labels go: <workspace>/labels/quality-labels.jsonl, or without a workspace
  // <app data>/labels/<corpus file name>.labels.jsonl; never inside the corpus folder
  // (the demo workspace registers every JSONL there as a dataset).
  static QString defaultPath(const QString& workspacePath, const QString& corpusPath);

  // Reads existing labels for `corpusPath`; the file (and its folder) is created only by
  // the first label() call, so opening a corpus leaves no trace.
  bool open(const QString& path, const QString& corpusPath, QString* error);
  QString path() const { return path_; }

  bool label(qint64 row, quint64 line, const QString& sourceId, bool good, const QString& text, QString* error);
  // 1 good, 0 bad, -1 unlabelled.
  int labelOf(qint64 row) const { return labels_.value(row, -1); }
  int count() const { return int(labels_.size()); }
  int goodCount() const;

 private:
  QString path_;
  QFile file_;
  QString corpus_;
  QHash<qint64, int> labels_;
};

}  // namespace kanana::datainspector
