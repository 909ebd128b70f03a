// Serve mode: runs `kanana serve` (an OpenAI-compatible server) on a chosen checkpoint as a
// child process, shows its URL, the requests in flight and the tokens/s it reports on /health.
#pragma once

#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace kanana::gui {
class WorkbenchContext;
}

namespace kanana::playground {

class CheckpointPicker;
class ServeProcess;
struct ServeStatus;

class ServePanel : public QWidget {
  Q_OBJECT
 public:
  ServePanel(gui::WorkbenchContext* context, QWidget* parent = nullptr);
  ServeProcess* process() const { return process_; }
  CheckpointPicker* picker() const { return model_; }
  void start();
  void stop();

 private:
  void showStatus(const ServeStatus& s);
  void updateButtons();

  ServeProcess* process_;
  CheckpointPicker* model_;
  QComboBox* weights_;
  QSpinBox* parallel_;
  QSpinBox* port_;
  QPushButton* start_;
  QPushButton* stop_;
  QLabel* url_;
  QLabel* state_;
  QLabel* stats_;
};

}  // namespace kanana::playground
