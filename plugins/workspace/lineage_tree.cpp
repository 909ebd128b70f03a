// See lineage_tree.h.
#include "lineage_tree.h"

#include <QHash>

#include "store/workspace.h"

namespace kanana::workspace {

namespace {

QString key(const std::string& kind, int64_t id) { return QStringLiteral("%1:%2").arg(QString::fromStdString(kind)).arg(id); }

// Attach each walked node under the item of its `via` node. Nodes come nearest first, so a
// node's parent is always placed before it.
int attach(store::Workspace& ws, LineageItem* root, const store::NodeRef& start,
           const std::vector<store::LineageNode>& nodes) {
  // Paths to items inside the tree (as child index lists), since QList may reallocate.
  QHash<QString, QList<int>> where;
  where.insert(key(start.kind, start.id), {});
  int placed = 0;
  for (const store::LineageNode& n : nodes) {
    const QString self = key(n.node.kind, n.node.id);
    if (where.contains(self)) continue;
    auto parentPath = where.constFind(key(n.via.kind, n.via.id));
    if (parentPath == where.constEnd()) continue;  // parent beyond the walk's reach
    LineageItem* parent = root;
    for (int i : *parentPath) parent = &parent->children[i];
    const QString kind = QString::fromStdString(n.node.kind);
    parent->children.append({kind, n.node.id, lineageLabel(ws, kind, n.node.id), QString::fromStdString(n.relation), {}});
    QList<int> path = *parentPath;
    path.append(int(parent->children.size()) - 1);
    where.insert(self, path);
    ++placed;
  }
  return placed;
}

}  // namespace

QString lineageLabel(store::Workspace& ws, const QString& kind, qint64 id) {
  std::string name;
  if (kind == QLatin1String("dataset")) {
    if (auto r = ws.get_dataset(id); r.is_ok()) name = r->name;
  } else if (kind == QLatin1String("tokenizer")) {
    if (auto r = ws.get_tokenizer(id); r.is_ok()) name = r->name;
  } else if (kind == QLatin1String("run")) {
    if (auto r = ws.get_run(id); r.is_ok()) name = r->name;
  } else if (kind == QLatin1String("checkpoint")) {
    if (auto r = ws.get_checkpoint(id); r.is_ok()) name = r->name;
  }
  if (!name.empty()) return QString::fromStdString(name);
  return QStringLiteral("%1 #%2").arg(QString(kind).replace(u'_', u' ')).arg(id);
}

bool buildLineageTrees(store::Workspace& ws, const QString& kind, qint64 id, LineageTrees* out, QString* error,
                       int maxDepth) {
  const store::NodeRef start{kind.toStdString(), id};
  auto up = ws.lineage_upstream(start, maxDepth);
  if (!up.is_ok()) {
    if (error) *error = QString::fromStdString(up.status().to_string());
    return false;
  }
  auto down = ws.lineage_downstream(start, maxDepth);
  if (!down.is_ok()) {
    if (error) *error = QString::fromStdString(down.status().to_string());
    return false;
  }
  out->root = {kind, id, lineageLabel(ws, kind, id), QString(), {}};
  out->upstream = out->root;
  out->downstream = out->root;
  out->upstreamCount = attach(ws, &out->upstream, start, *up);
  out->downstreamCount = attach(ws, &out->downstream, start, *down);
  return true;
}

}  // namespace kanana::workspace
