// Follows a growing file on the GUI thread (events.jsonl of a run, or a rank's log): a
// QFileSystemWatcher on the file and its folder wakes it as soon as bytes are appended or
// the file is created/replaced, and a poll timer covers what inotify does not see (network
// filesystems, a mirror rewritten in place, a watch limit reached). Reads go through FileTail
// in chunks of at most 1 MiB, one per event-loop turn, so following a long run's 100 MB
// events file never freezes the window.
// Threading: lives on the thread that created it (the GUI thread); signals are emitted there.
#pragma once

#include <QByteArray>
#include <QFileSystemWatcher>
#include <QObject>
#include <QTimer>

#include "file_tail.h"

namespace kanana::jobsplugin {

class FileFollower : public QObject {
  Q_OBJECT
 public:
  explicit FileFollower(const QString& path, QObject* parent = nullptr, int pollIntervalMs = 1000);

  QString path() const { return path_; }
  void setPollInterval(int ms) { poll_.setInterval(ms); }
  // Starts watching and reads what is there.
  void start();
  void stop();
  // Reads everything available now, synchronously (tests, and a final read after a run ended).
  void drain();
  // Whether the last read ended on a line still being written.
  bool partialPending() const { return partialPending_; }
  quint64 bytesRead() const { return tail_.offset(); }

 Q_SIGNALS:
  // The file shrank or was replaced: forget what was read; lines from its start follow.
  void reset();
  // Complete lines (each ending in '\n'); `firstLine` is the 1-based number of the first.
  void linesRead(const QByteArray& data, quint64 firstLine);

 private:
  void readOne();
  void scheduleRead();
  void watch();

  QString path_;
  FileTail tail_;
  QFileSystemWatcher watcher_;
  QTimer poll_;
  bool readQueued_ = false;
  bool running_ = false;
  bool partialPending_ = false;
};

}  // namespace kanana::jobsplugin
