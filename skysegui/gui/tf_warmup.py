"""Load TensorFlow in the background a moment after the window opens.

Why: loading TensorFlow's native libraries holds the interpreter lock for 0.3-0.6 s at a
time (measured: the GUI thread's longest pause at the start of the first prediction was
about 570 ms, all of it the import). Done while the user is still looking at the first
panorama, that pause does not land in the middle of a drag or a progress bar, and the
first prediction starts sooner. (Training runs in a child process with its own
TensorFlow: ml/train/child_process.py.) The real program does it (app.run_app); set
SKYSEGUI_TF_WARMUP=0 to keep TensorFlow unloaded until it is needed (about 400 MB less
memory for someone who only views and labels).
"""

from __future__ import annotations

import os
import threading

from PySide6.QtCore import QTimer

DELAY_MS = 2000
_started = threading.Event()


def warmup_enabled() -> bool:
    return os.environ.get("SKYSEGUI_TF_WARMUP", "1").strip().lower() not in ("0", "no", "off", "false")


def load_tensorflow_now() -> threading.Thread | None:
    """Import TensorFlow and segmentation_models in a daemon thread (once per process)."""
    if _started.is_set():
        return None
    _started.set()

    def load() -> None:
        try:
            from skysegui.ml.tf_import import import_segmentation_models

            import_segmentation_models()
        except Exception:  # noqa: BLE001 - a missing or broken TensorFlow is reported when it is used
            pass

    thread = threading.Thread(target=load, name="tensorflow-warmup", daemon=True)
    thread.start()
    return thread


def schedule_tf_warmup(delay_ms: int = DELAY_MS) -> bool:
    """Load TensorFlow `delay_ms` after the event loop runs, unless turned off."""
    if not warmup_enabled():
        return False
    QTimer.singleShot(delay_ms, load_tensorflow_now)
    return True
