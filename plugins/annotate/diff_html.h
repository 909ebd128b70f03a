// Word-level differences of two replies as HTML for the side-by-side view: words only in the
// left reply are marked as removed there, words only in the right one as added there
// (prefs::word_diff underneath). Text is HTML-escaped; line breaks are kept.
#pragma once

#include <QString>

namespace kanana::annotate {

struct DiffHtml {
  QString left;
  QString right;
  double similarity = 1.0;  // share of words the two have in common
};

DiffHtml diffHtml(const QString& left, const QString& right);
// A reply without marks, escaped the same way.
QString plainHtml(const QString& text);

}  // namespace kanana::annotate
