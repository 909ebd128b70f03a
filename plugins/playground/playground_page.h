// The Playground page: Chat, RAG, Tools and Serve modes in tabs. The last mode used is
// remembered (settings key playground/mode: "chat" | "rag" | "tools" | "serve").
#pragma once

#include <QWidget>

class QTabWidget;

namespace kanana::gui {
class WorkbenchContext;
}

namespace kanana::playground {

class ChatPanel;
class RagPanel;
class ServePanel;
class ToolsPanel;

class PlaygroundPage : public QWidget {
  Q_OBJECT
 public:
  explicit PlaygroundPage(gui::WorkbenchContext* context, QWidget* parent = nullptr);

  ChatPanel* chat() const { return chat_; }
  RagPanel* rag() const { return rag_; }
  ToolsPanel* tools() const { return tools_; }
  ServePanel* serve() const { return serve_; }
  void setMode(const QString& mode);  // "chat" | "rag" | "tools" | "serve"
  QString mode() const;

 private:
  gui::WorkbenchContext* context_;
  QTabWidget* tabs_;
  ChatPanel* chat_;
  RagPanel* rag_;
  ToolsPanel* tools_;
  ServePanel* serve_;
};

}  // namespace kanana::playground
