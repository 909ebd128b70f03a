// Helpers shared by the store tests: file hashes (to prove a refused file was not touched)
// and a folder listing (to prove no side files were left behind).
#pragma once

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QStringList>

#include <filesystem>
#include <string>

namespace kanana::test {

inline QByteArray file_sha256(const std::filesystem::path& path) {
  QFile f(QString::fromStdString(path.string()));
  if (!f.open(QIODevice::ReadOnly)) return {};
  return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256).toHex();
}

inline QStringList folder_listing(const std::filesystem::path& dir) {
  return QDir(QString::fromStdString(dir.string())).entryList(QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
}

inline void write_bytes(const std::filesystem::path& path, const QByteArray& bytes) {
  QFile f(QString::fromStdString(path.string()));
  f.open(QIODevice::WriteOnly | QIODevice::Truncate);
  f.write(bytes);
}

inline std::filesystem::path to_path(const QString& s) { return std::filesystem::path(s.toStdString()); }

}  // namespace kanana::test
