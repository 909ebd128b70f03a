// Include QCustomPlot under QT_NO_KEYWORDS: Debian's qcustomplot.h is written with Qt's
// `signals`/`slots`/`emit`/`foreach` keywords, which the whole build turns off (they break
// LibTorch headers). Map them for this one header only; never include a Torch header after
// this in the same file.
#pragma once

#define signals Q_SIGNALS
#define slots Q_SLOTS
#define emit Q_EMIT
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef emit
#undef foreach
