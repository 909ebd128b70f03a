// See theme.h.
#include "theme.h"

#include <QApplication>
#include <QFile>
#include <QFont>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>

namespace kanana::app {

namespace {

QPalette lightPalette() {
  QPalette p;
  const QColor window(0xf5, 0xf6, 0xf8), base(0xff, 0xff, 0xff), text(0x1f, 0x23, 0x28);
  const QColor accent(0x2f, 0x6f, 0xeb);
  p.setColor(QPalette::Window, window);
  p.setColor(QPalette::WindowText, text);
  p.setColor(QPalette::Base, base);
  p.setColor(QPalette::AlternateBase, QColor(0xf7, 0xf8, 0xfa));
  p.setColor(QPalette::ToolTipBase, base);
  p.setColor(QPalette::ToolTipText, text);
  p.setColor(QPalette::PlaceholderText, QColor(0x8a, 0x90, 0x99));
  p.setColor(QPalette::Text, text);
  p.setColor(QPalette::Button, QColor(0xfb, 0xfb, 0xfc));
  p.setColor(QPalette::ButtonText, text);
  p.setColor(QPalette::BrightText, Qt::white);
  p.setColor(QPalette::Mid, QColor(0xd0, 0xd4, 0xda));
  p.setColor(QPalette::Midlight, QColor(0xe4, 0xe7, 0xeb));
  p.setColor(QPalette::Dark, QColor(0xb8, 0xbd, 0xc4));
  p.setColor(QPalette::Highlight, accent);
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::Link, accent);
  p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x9a, 0xa0, 0xa8));
  p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(0x9a, 0xa0, 0xa8));
  p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x9a, 0xa0, 0xa8));
  return p;
}

QPalette darkPalette() {
  QPalette p;
  const QColor window(0x25, 0x27, 0x2b), base(0x1c, 0x1e, 0x21), text(0xe3, 0xe5, 0xe8);
  const QColor accent(0x4c, 0x8d, 0xf6);
  p.setColor(QPalette::Window, window);
  p.setColor(QPalette::WindowText, text);
  p.setColor(QPalette::Base, base);
  p.setColor(QPalette::AlternateBase, QColor(0x23, 0x25, 0x29));
  p.setColor(QPalette::ToolTipBase, window);
  p.setColor(QPalette::ToolTipText, text);
  p.setColor(QPalette::PlaceholderText, QColor(0x8a, 0x90, 0x99));
  p.setColor(QPalette::Text, text);
  p.setColor(QPalette::Button, QColor(0x30, 0x33, 0x38));
  p.setColor(QPalette::ButtonText, text);
  p.setColor(QPalette::BrightText, Qt::white);
  p.setColor(QPalette::Mid, QColor(0x45, 0x48, 0x4e));
  p.setColor(QPalette::Midlight, QColor(0x3a, 0x3d, 0x42));
  p.setColor(QPalette::Dark, QColor(0x18, 0x19, 0x1c));
  p.setColor(QPalette::Highlight, accent);
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::Link, accent);
  p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x70, 0x75, 0x7c));
  p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(0x70, 0x75, 0x7c));
  p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x70, 0x75, 0x7c));
  return p;
}

}  // namespace

void applyTheme(QApplication& app, const QString& theme) {
  if (theme == QLatin1String("system")) {
    app.setStyleSheet(QString());
    app.setPalette(app.style()->standardPalette());
    return;
  }
  app.setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
  app.setPalette(theme == QLatin1String("dark") ? darkPalette() : lightPalette());
  QFile qss(QStringLiteral(":/kanana/style.qss"));
  QString sheet;
  if (qss.open(QIODevice::ReadOnly)) sheet = QString::fromUtf8(qss.readAll());
  // The sheet names palette roles only, so one sheet serves both palettes.
  app.setStyleSheet(sheet);
}

}  // namespace kanana::app
