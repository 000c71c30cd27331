"""Import TensorFlow, tf-keras and segmentation_models once, without their start-up chatter.

TensorFlow prints lines on stderr while it loads (oneDNN, "Could not find cuda drivers",
"All log messages before absl::InitializeLog()") and when the devices are first set up
("failed call to cuInit" on a machine without a GPU). TF_CPP_MIN_LOG_LEVEL does not stop
them: they come before absl's log is initialised. Every place in skysegui that needs
TensorFlow calls import_tensorflow() first: it imports TensorFlow and tf-keras and sets
up the devices inside a native stderr capture, drops those known lines and passes any
other line through. segmentation_models prints its framework on stdout when imported;
import_segmentation_models() keeps that one line out of our output (`--json`).

Both freeze what the import created out of the cyclic garbage collector's reach
(gc.freeze): TensorFlow and segmentation_models leave ~290,000 long-lived objects, and a
full collection that walks them takes 100-200 ms, which stalled the window while a model
trained (a full collection runs on the GUI thread, see gui/gui_thread_gc.py). Module
objects live until exit, so freezing them loses nothing; a full collection afterwards
walks only what the program made since (about 7 ms with a model built).
"""

from __future__ import annotations

import contextlib
import gc
import io
import sys
import threading

import skysegui.ml  # noqa: F401  (selects tf-keras before TensorFlow is imported)
from skysegui.core.native_stderr import capture_disabled, capture_native_stderr

_lock = threading.RLock()
_tf = None
_sm = None
_SM_BANNER = "Segmentation Models: using `"


def import_tensorflow():
    """The tensorflow module, imported (with tf-keras) and its devices initialised."""
    global _tf
    if _tf is not None:
        return _tf
    with _lock:
        if _tf is None:
            with capture_native_stderr():
                import tensorflow as tf
                import tf_keras  # noqa: F401

                tf.config.list_physical_devices()  # cuInit is tried here, inside the capture
                _memory_growth(tf)
            gc.freeze()
            _tf = tf
    return _tf


def _memory_growth(tf) -> None:
    """GPU memory taken as needed, not all of it up front, on every GPU, before anything
    (a prediction in the window, a training run) initialises them: the window may predict
    and train in one process, and other programs share the GPU."""
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except (RuntimeError, ValueError):  # initialised already: configure_gpus notes it
            pass


def import_tf_keras():
    """The tf_keras module (TensorFlow imported quietly first)."""
    import_tensorflow()
    import tf_keras

    return tf_keras


def import_segmentation_models():
    """The segmentation_models module, without its framework banner on stdout."""
    global _sm
    if _sm is not None:
        return _sm
    import_tensorflow()
    with _lock:
        if _sm is None:
            if capture_disabled():
                import segmentation_models as sm
            else:
                printed = io.StringIO()
                with contextlib.redirect_stdout(printed):
                    import segmentation_models as sm
                rest = [line for line in printed.getvalue().splitlines(keepends=True)
                        if not line.startswith(_SM_BANNER)]
                if rest:
                    sys.stdout.write("".join(rest))
            gc.freeze()
            _sm = sm
    return _sm
