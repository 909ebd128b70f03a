// Conversations and annotation hand-off in the workspace database (see conversation_store.h).
#include "conversation_store.h"

#include <QJsonDocument>
#include <algorithm>
#include <filesystem>

namespace kanana::playground {
namespace fs = std::filesystem;

namespace {

std::string compact(const QJsonArray& a) { return QJsonDocument(a).toJson(QJsonDocument::Compact).toStdString(); }
std::string compact(const QJsonObject& o) { return QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString(); }

// The registered checkpoint whose folder is `dir`, if any.
std::optional<int64_t> checkpoint_id_for(store::Workspace& ws, const QString& dir) {
  if (dir.isEmpty()) return std::nullopt;
  auto list = ws.list_checkpoints();
  if (!list.is_ok()) return std::nullopt;
  std::error_code ec;
  const fs::path want = fs::weakly_canonical(dir.toStdString(), ec);
  for (const auto& c : *list) {
    const fs::path have = fs::weakly_canonical(ws.resolve(c.path), ec);
    if (have == want) return c.id;
  }
  return std::nullopt;
}

}  // namespace

QString guessLanguage(const QString& text) {
  bool hangul = false, latin = false;
  for (const QChar c : text) {
    const char16_t u = c.unicode();
    if ((u >= 0xAC00 && u <= 0xD7A3) || (u >= 0x1100 && u <= 0x11FF) || (u >= 0x3130 && u <= 0x318F)) hangul = true;
    else if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')) latin = true;
  }
  return hangul && latin ? QStringLiteral("mixed") : hangul ? QStringLiteral("ko") : latin ? QStringLiteral("en") : QString();
}

Result<int64_t> saveConversation(store::Workspace& ws, std::optional<int64_t> id, const QString& title, const QString& mode,
                                 const QJsonArray& messages, const QJsonObject& meta) {
  if (id) {
    KANANA_RETURN_IF_ERROR(ws.update_conversation_messages(*id, compact(messages)));
    KANANA_ASSIGN_OR_RETURN(store::Statement st, ws.db().prepare("UPDATE conversations SET title = ?, meta_json = ? WHERE id = ?"));
    st.bind(1, title.toStdString()).bind(2, compact(meta)).bind(3, *id);
    KANANA_RETURN_IF_ERROR(st.run());
    return *id;
  }
  store::ConversationRecord r;
  r.title = title.toStdString();
  r.mode = mode.toStdString();
  r.messages_json = compact(messages);
  r.meta_json = compact(meta);
  return ws.add_conversation(r);
}

Result<std::vector<SavedConversation>> listConversations(store::Workspace& ws, const QString& mode) {
  KANANA_ASSIGN_OR_RETURN(auto records, ws.list_conversations());
  std::vector<SavedConversation> out;
  for (const auto& r : records) {
    if (!mode.isEmpty() && QString::fromStdString(r.mode) != mode) continue;
    SavedConversation c;
    c.id = r.id;
    c.title = QString::fromStdString(r.title);
    c.mode = QString::fromStdString(r.mode);
    c.updatedAt = QString::fromStdString(r.updated_at);
    c.messages = QJsonDocument::fromJson(QByteArray::fromStdString(r.messages_json)).array();
    c.meta = QJsonDocument::fromJson(QByteArray::fromStdString(r.meta_json)).object();
    out.push_back(std::move(c));
  }
  std::stable_sort(out.begin(), out.end(), [](const SavedConversation& a, const SavedConversation& b) {
    return a.updatedAt != b.updatedAt ? a.updatedAt > b.updatedAt : a.id > b.id;
  });
  return out;
}

Result<int64_t> sendToAnnotation(store::Workspace& ws, const QJsonArray& messages, const std::vector<AnnotationReply>& replies,
                                 std::optional<int64_t> conversationId) {
  int last_user = -1;
  for (int i = 0; i < messages.size(); ++i)
    if (messages[i].toObject().value("role").toString() == QLatin1String("user")) last_user = i;
  if (last_user < 0) return invalid_argument("the conversation has no user message to annotate");
  QJsonArray prompt_messages;
  for (int i = 0; i <= last_user; ++i) {
    QJsonObject o = messages[i].toObject();
    o.remove("meta");
    prompt_messages.append(o);
  }
  const QString user = messages[last_user].toObject().value("content").toString();
  QString system;
  if (!messages.isEmpty() && messages[0].toObject().value("role").toString() == QLatin1String("system"))
    system = messages[0].toObject().value("content").toString();

  KANANA_ASSIGN_OR_RETURN(auto tx, store::Transaction::begin(ws.db()));
  KANANA_ASSIGN_OR_RETURN(auto sets, ws.list_prompt_sets());
  int64_t set_id = 0;
  for (const auto& s : sets)
    if (s.name == kAnnotationPromptSet) set_id = s.id;
  if (set_id == 0) {
    store::PromptSetRecord s;
    s.name = kAnnotationPromptSet;
    s.description = "Conversations sent from the Playground for preference annotation";
    KANANA_ASSIGN_OR_RETURN(set_id, ws.add_prompt_set(s));
  }
  QJsonObject meta{{"source", "playground"}, {"messages", prompt_messages}};
  if (conversationId) meta["conversation_id"] = static_cast<qint64>(*conversationId);
  store::PromptRecord p;
  p.prompt_set_id = set_id;
  p.text = user.toStdString();
  p.system = system.toStdString();
  p.lang = guessLanguage(user).toStdString();
  p.meta_json = compact(meta);
  KANANA_ASSIGN_OR_RETURN(int64_t prompt_id, ws.add_prompt(p));
  for (const auto& r : replies) {
    if (r.text.trimmed().isEmpty()) continue;
    store::CandidateRecord c;
    c.prompt_id = prompt_id;
    c.checkpoint_id = checkpoint_id_for(ws, r.checkpoint);
    c.text = r.text.toStdString();
    QJsonObject sampling = r.sampling;
    if (!r.checkpoint.isEmpty()) sampling["checkpoint_dir"] = r.checkpoint;
    c.sampling_json = compact(sampling);
    if (r.sampling.contains("seed")) c.seed = r.sampling.value("seed").toInteger();
    KANANA_RETURN_IF_ERROR(ws.add_candidate(c).status());
  }
  KANANA_RETURN_IF_ERROR(tx->commit());
  return prompt_id;
}

}  // namespace kanana::playground
