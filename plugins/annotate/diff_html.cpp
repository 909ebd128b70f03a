// HTML rendering of a word diff (see diff_html.h).
#include "diff_html.h"

#include "prefs/word_diff.h"

namespace kanana::annotate {

namespace {

QString escape(const std::string& text) {
  QString s = QString::fromStdString(text).toHtmlEscaped();
  s.replace(QLatin1Char('\n'), QStringLiteral("<br>"));
  return s;
}

const char* kRemoved = "<span style=\"background-color:#f8d0d0; color:#8a1c1c; text-decoration:line-through;\">";
const char* kAdded = "<span style=\"background-color:#c9efc9; color:#1b5e20;\">";

}  // namespace

QString plainHtml(const QString& text) { return escape(text.toStdString()); }

DiffHtml diffHtml(const QString& left, const QString& right) {
  const auto spans = prefs::word_diff(left.toStdString(), right.toStdString());
  DiffHtml out;
  for (const auto& s : spans) {
    switch (s.op) {
      case prefs::DiffSpan::Op::kEqual:
        out.left += escape(s.text);
        out.right += escape(s.text);
        break;
      case prefs::DiffSpan::Op::kDelete:
        out.left += QLatin1String(kRemoved) + escape(s.text) + QStringLiteral("</span>");
        break;
      case prefs::DiffSpan::Op::kInsert:
        out.right += QLatin1String(kAdded) + escape(s.text) + QStringLiteral("</span>");
        break;
    }
  }
  out.similarity = prefs::word_similarity(spans);
  return out;
}

}  // namespace kanana::annotate
