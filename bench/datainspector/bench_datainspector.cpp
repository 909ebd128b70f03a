// Opens a corpus in the Data Inspector's CorpusIndex (as the page does) and prints the time
// to the first rows (first progress signal with rows > 0) and to the complete index, then
// the time to compute signals for the first screenful (50 rows) through the SignalsCache.
//
//   bench_datainspector FILE.jsonl [--all-signals]   (also wait for every row's signals)
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QTimer>
#include <cstdio>
#include <fstream>
#include <string>

#include <filesystem>

#include "corpus_index.h"
#include "data/lang_id.h"
#include "signals_cache.h"

using namespace kanana::datainspector;

static std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string s;
  std::getline(f, s);
  return s;
}

int main(int argc, char** argv) {
  QCoreApplication app(argc, argv);
  const bool allSignals = argc == 3 && std::string(argv[2]) == "--all-signals";
  if (argc != 2 && !allSignals) {
    std::fprintf(stderr, "usage: bench_datainspector FILE.jsonl [--all-signals]\n");
    return 2;
  }
  CorpusIndex index;
  SignalsCacheOptions opt;
  opt.threads = 2;
  // As the page does: language ID with lid.176 when the demo setup fetched it.
  if (std::filesystem::exists(kanana::data::default_lid_model_path())) opt.lid_model = kanana::data::default_lid_model_path();
  SignalsCache cache(&index, opt);
  QElapsedTimer timer;
  qint64 firstRows = -1, complete = -1, screen = -1;
  QObject::connect(&index, &CorpusIndex::progress, &app, [&](qint64 rows) {
    if (firstRows < 0 && rows > 0) {
      firstRows = timer.nsecsElapsed();
      std::printf("first rows: %.1f ms (%lld rows)\n", double(firstRows) / 1e6, static_cast<long long>(rows));
      cache.requestRows(0, 49);
    }
  }, Qt::DirectConnection);
  QObject::connect(&cache, &SignalsCache::rowsReady, &app, [&](qint64 first, qint64 last) {
    if (screen < 0 && first == 0 && last >= 49) {
      screen = timer.nsecsElapsed();
      std::printf("first 50 rows with signals: %.1f ms\n", double(screen) / 1e6);
    }
  });
  QObject::connect(&index, &CorpusIndex::completed, &app, [&](qint64 rows) {
    complete = timer.nsecsElapsed();
    std::printf("complete index: %.1f ms (%lld rows, %.2f GB/s)\n", double(complete) / 1e6, static_cast<long long>(rows),
                double(index.bytesTotal()) / double(complete));
    if (!allSignals) QTimer::singleShot(screen < 0 ? 3000 : 0, &app, [] { QCoreApplication::quit(); });
  });
  QObject::connect(&cache, &SignalsCache::progress, &app, [&](qint64 done, qint64 total) {
    if (allSignals && (done % 2560 == 0 || total < 20000)) std::printf("  signals %lld / %lld at %.1f s\n", static_cast<long long>(done),
                                                   static_cast<long long>(total), double(timer.nsecsElapsed()) / 1e9);
  });
  QObject::connect(&cache, &SignalsCache::completed, &app, [&] {
    std::printf("all signals, dedup clusters: %.1f s (%lld documents, %lld bad lines)\n", double(timer.nsecsElapsed()) / 1e9,
                static_cast<long long>(cache.readyCount()), static_cast<long long>(cache.badCount()));
    if (allSignals) QCoreApplication::quit();
  });
  QObject::connect(&index, &CorpusIndex::failed, &app, [](const QString& e) {
    std::fprintf(stderr, "%s\n", qPrintable(e));
    QCoreApplication::exit(1);
  });
  timer.start();
  QString error;
  if (!index.open(QString::fromLocal8Bit(argv[1]), &error)) {
    std::fprintf(stderr, "%s\n", qPrintable(error));
    return 1;
  }
  cache.start();  // as the page does: the in-order signals pass runs beside the index scan
  const int rc = app.exec();
  std::printf("file: %s (%.2f GB), load average: %s\n", argv[1], double(index.bytesTotal()) / 1e9, loadavg().c_str());
  return rc;
}
