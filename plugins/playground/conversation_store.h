// Playground conversations in the workspace database: save and reopen them (table
// conversations), and "send to annotation": the conversation becomes a prompt of the
// "Playground" prompt set (table prompts; meta_json holds the messages) and the replies it
// already has become candidates, which is what the Preference Annotation plugin reads.
//
// Threading: use from the thread that owns the Workspace (the GUI thread for the context's).
#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QString>
#include <optional>
#include <vector>

#include "base/status.h"
#include "store/workspace.h"

namespace kanana::playground {

inline constexpr const char* kAnnotationPromptSet = "Playground";

struct SavedConversation {
  qint64 id = 0;
  QString title, mode, updatedAt;
  QJsonArray messages;
  QJsonObject meta;
};

// Inserts (id unset) or updates the messages of a conversation; returns its id.
Result<int64_t> saveConversation(store::Workspace& ws, std::optional<int64_t> id, const QString& title, const QString& mode,
                                 const QJsonArray& messages, const QJsonObject& meta);
// Newest first.
Result<std::vector<SavedConversation>> listConversations(store::Workspace& ws, const QString& mode = {});

struct AnnotationReply {
  QString text;
  QString checkpoint;    // model folder that wrote it
  QJsonObject sampling;  // chat::ChatSampling::to_json
};

// The prompt is the conversation up to its last user message: prompts.text is that message,
// prompts.system the system prompt, meta_json {"source": "playground", "messages": [...],
// "conversation_id"?}. Each reply becomes a candidate of the prompt (checkpoint_id when the
// folder is a registered checkpoint). Returns the prompt id. Error if there is no user message.
Result<int64_t> sendToAnnotation(store::Workspace& ws, const QJsonArray& messages, const std::vector<AnnotationReply>& replies,
                                 std::optional<int64_t> conversationId = std::nullopt);

// "ko" (Hangul only), "en" (Latin only), "mixed", or "" for text with neither.
QString guessLanguage(const QString& text);

}  // namespace kanana::playground
