// Writing a run's events.jsonl in the Jobs plugin suites (one executable, tests_jobsplugin).
#pragma once

#include <QByteArray>
#include <QFile>
#include <QString>
#include <QtTest>

namespace kanana::test {

// Appends bytes to a file as a running trainer does (the file may grow mid-line).
inline void appendBytes(const QString& path, const QByteArray& bytes) {
  QFile f(path);
  QVERIFY(f.open(QIODevice::Append));
  QCOMPARE(f.write(bytes), bytes.size());
}

}  // namespace kanana::test
