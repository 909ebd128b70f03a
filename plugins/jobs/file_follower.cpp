// See file_follower.h.
#include "file_follower.h"

#include <QFileInfo>

namespace kanana::jobsplugin {

FileFollower::FileFollower(const QString& path, QObject* parent, int pollIntervalMs)
    : QObject(parent), path_(path), tail_(path.toStdString()) {
  poll_.setInterval(pollIntervalMs);
  connect(&poll_, &QTimer::timeout, this, [this] {
    watch();  // the file may have appeared since
    scheduleRead();
  });
  connect(&watcher_, &QFileSystemWatcher::fileChanged, this, [this] { scheduleRead(); });
  connect(&watcher_, &QFileSystemWatcher::directoryChanged, this, [this] {
    watch();
    scheduleRead();
  });
}

void FileFollower::watch() {
  const QFileInfo info(path_);
  const QString dir = info.absolutePath();
  if (QFileInfo(dir).isDir() && !watcher_.directories().contains(dir)) watcher_.addPath(dir);
  // A replaced file drops out of the watch list: add it again.
  if (info.exists() && !watcher_.files().contains(path_)) watcher_.addPath(path_);
}

void FileFollower::start() {
  running_ = true;
  watch();
  poll_.start();
  scheduleRead();
}

void FileFollower::stop() {
  running_ = false;
  poll_.stop();
  if (!watcher_.files().isEmpty()) watcher_.removePaths(watcher_.files());
  if (!watcher_.directories().isEmpty()) watcher_.removePaths(watcher_.directories());
}

void FileFollower::scheduleRead() {
  if (readQueued_ || !running_) return;
  readQueued_ = true;
  QTimer::singleShot(0, this, [this] {
    readQueued_ = false;
    if (running_) readOne();
  });
}

void FileFollower::readOne() {
  TailChunk chunk = tail_.read();
  partialPending_ = chunk.partialPending;
  if (chunk.reset) Q_EMIT reset();
  if (!chunk.data.empty())
    Q_EMIT linesRead(QByteArray(chunk.data.data(), qsizetype(chunk.data.size())), chunk.firstLine);
  if (chunk.more) scheduleRead();
}

void FileFollower::drain() {
  for (int guard = 0; guard < 100000; ++guard) {
    TailChunk chunk = tail_.read();
    partialPending_ = chunk.partialPending;
    if (chunk.reset) Q_EMIT reset();
    if (!chunk.data.empty())
      Q_EMIT linesRead(QByteArray(chunk.data.data(), qsizetype(chunk.data.size())), chunk.firstLine);
    if (!chunk.more) break;
  }
}

}  // namespace kanana::jobsplugin
