// The lineage of one workspace record as two trees: where it came from (upstream) and what
// was made from it (downstream). Each node hangs under the neighbour that first reached it
// on the shortest path, so "dataset → run → checkpoint" reads as nested rows. QtCore only.
#pragma once

#include <QList>
#include <QString>

namespace kanana::store {
class Workspace;
}

namespace kanana::workspace {

struct LineageItem {
  QString kind;      // "dataset", "run", "checkpoint", ...
  qint64 id = 0;
  QString label;     // the record's name, or "prompt #12" for records without one
  QString relation;  // the edge that links it to its parent item ("trained", "produced", ...)
  QList<LineageItem> children;
};

struct LineageTrees {
  LineageItem root;        // the record itself
  LineageItem upstream;    // root's copy whose children are what it came from
  LineageItem downstream;  // root's copy whose children are what was made from it
  int upstreamCount = 0;
  int downstreamCount = 0;
};

// Walks both directions (bounded depth). False + *error (the store's message) on failure.
bool buildLineageTrees(store::Workspace& workspace, const QString& kind, qint64 id, LineageTrees* out,
                       QString* error, int maxDepth = 16);

// The display name of a record: its name column where the table has one.
QString lineageLabel(store::Workspace& workspace, const QString& kind, qint64 id);

}  // namespace kanana::workspace
