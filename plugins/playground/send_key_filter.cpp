#include "send_key_filter.h"

#include <QInputMethodEvent>
#include <QKeyEvent>
#include <QMetaObject>
#include <QPlainTextEdit>

namespace kanana::playground {

SendKeyFilter::SendKeyFilter(QPlainTextEdit* editor, std::function<void()> send)
    : QObject(editor), editor_(editor), send_(std::move(send)) {
  editor_->installEventFilter(this);
}

bool SendKeyFilter::eventFilter(QObject* watched, QEvent* event) {
  if (watched != editor_) return QObject::eventFilter(watched, event);
  if (event->type() == QEvent::InputMethod) {
    const auto* ime = static_cast<QInputMethodEvent*>(event);
    composing_ = !ime->preeditString().isEmpty();
    if (pending_ && !composing_) {
      pending_ = false;
      // After the editor has applied this event (the committed syllable is in the text).
      QMetaObject::invokeMethod(this, [this] { send_(); }, Qt::QueuedConnection);
    }
    return false;
  }
  if (event->type() != QEvent::KeyPress) return false;
  const auto* key = static_cast<QKeyEvent*>(event);
  if (key->key() != Qt::Key_Return && key->key() != Qt::Key_Enter) return false;
  if (key->modifiers() & Qt::ShiftModifier) {
    editor_->textCursor().insertText(QStringLiteral("\n"));  // a plain newline, not U+2028
    return true;
  }
  if (key->isAutoRepeat()) return true;  // a held Enter sends once
  if (composing_) {
    pending_ = true;  // sent when the input method commits the syllable
    return true;
  }
  send_();
  return true;
}

}  // namespace kanana::playground
