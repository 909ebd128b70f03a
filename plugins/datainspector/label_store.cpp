// LabelStore: append-and-flush JSONL of classifier labels.
#include "label_store.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStandardPaths>

namespace kanana::datainspector {

QString LabelStore::defaultPath(const QString& workspacePath, const QString& corpusPath) {
  if (!workspacePath.isEmpty()) return QDir(workspacePath).filePath(QStringLiteral("labels/quality-labels.jsonl"));
  return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation))
      .filePath(QStringLiteral("labels/") + QFileInfo(corpusPath).fileName() + QStringLiteral(".labels.jsonl"));
}

bool LabelStore::open(const QString& path, const QString& corpusPath, QString* error) {
  file_.close();
  labels_.clear();
  corpus_ = corpusPath;
  path_ = path;
  QFile reader(path);
  if (!reader.exists()) return true;
  if (!reader.open(QIODevice::ReadOnly)) {
    if (error) *error = QObject::tr("Cannot read the label file %1: %2").arg(path, reader.errorString());
    return false;
  }
  while (!reader.atEnd()) {
    const QJsonObject o = QJsonDocument::fromJson(reader.readLine()).object();
    if (o.value(QStringLiteral("corpus")).toString() != corpusPath) continue;
    labels_[o.value(QStringLiteral("row")).toInteger()] = o.value(QStringLiteral("label")).toString() == QLatin1String("good");
  }
  return true;
}

bool LabelStore::label(qint64 row, quint64 line, const QString& sourceId, bool good, const QString& text, QString* error) {
  if (path_.isEmpty()) {
    if (error) *error = QObject::tr("No label file is open");
    return false;
  }
  if (!file_.isOpen()) {
    QDir().mkpath(QFileInfo(path_).absolutePath());
    file_.setFileName(path_);
    if (!file_.open(QIODevice::WriteOnly | QIODevice::Append | QIODevice::Text)) {
      if (error) *error = QObject::tr("Cannot open the label file %1: %2").arg(path_, file_.errorString());
      return false;
    }
  }
  QJsonObject o;
  o.insert(QStringLiteral("corpus"), corpus_);
  o.insert(QStringLiteral("line"), qint64(line));
  o.insert(QStringLiteral("row"), row);
  if (!sourceId.isEmpty()) o.insert(QStringLiteral("id"), sourceId);
  o.insert(QStringLiteral("label"), good ? QStringLiteral("good") : QStringLiteral("bad"));
  o.insert(QStringLiteral("time"), QDateTime::currentDateTimeUtc().toString(Qt::ISODate));
  o.insert(QStringLiteral("text"), text);
  const QByteArray bytes = QJsonDocument(o).toJson(QJsonDocument::Compact) + '\n';
  if (file_.write(bytes) != bytes.size() || !file_.flush()) {
    if (error) *error = QObject::tr("Cannot write to %1: %2").arg(path_, file_.errorString());
    return false;
  }
  labels_[row] = good ? 1 : 0;
  return true;
}

int LabelStore::goodCount() const {
  int n = 0;
  for (int v : labels_) n += v == 1;
  return n;
}

}  // namespace kanana::datainspector
