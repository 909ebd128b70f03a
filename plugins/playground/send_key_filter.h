// The chat box's keys: Enter (or keypad Enter, or Ctrl+Enter) sends, Shift+Enter starts a new
// line. Korean is typed through an input method that composes a syllable in a pre-edit string
// (ㅎ → 하 → 한) before committing it; an Enter pressed while a syllable is being composed
// must not send the message without it (and then send the syllable again as a second message,
// as some chat apps do). So while a pre-edit is open, Enter only marks the send as pending and
// is swallowed; the send happens once, right after the input method's commit has been applied
// to the text. Input methods that commit before delivering the Enter key need nothing special.
#pragma once

#include <QObject>

#include <functional>

class QPlainTextEdit;

namespace kanana::playground {

class SendKeyFilter : public QObject {
 public:
  // Installs itself on `editor`; `send` is called (from the event loop) with nothing pending.
  SendKeyFilter(QPlainTextEdit* editor, std::function<void()> send);
  bool eventFilter(QObject* watched, QEvent* event) override;
  bool composing() const { return composing_; }

 private:
  QPlainTextEdit* editor_;
  std::function<void()> send_;
  bool composing_ = false;
  bool pending_ = false;
};

}  // namespace kanana::playground
