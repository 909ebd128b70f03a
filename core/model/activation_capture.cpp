// Thread-local observer for activation capture (see activation_capture.h).
#include "model/activation_capture.h"

namespace kanana::model {
namespace {
thread_local ActivationObserver* t_observer = nullptr;
thread_local int64_t t_layer = -1;
}  // namespace

ActivationCapture::ActivationCapture(ActivationObserver* observer) : previous_(t_observer), previous_layer_(t_layer) {
  t_observer = observer;
  t_layer = -1;
}

ActivationCapture::~ActivationCapture() {
  t_observer = previous_;
  t_layer = previous_layer_;
}

ActivationObserver* ActivationCapture::active() { return t_observer; }
int64_t ActivationCapture::current_layer() { return t_layer; }
void ActivationCapture::set_current_layer(int64_t layer) { t_layer = layer; }

}  // namespace kanana::model
