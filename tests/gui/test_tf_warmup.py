"""The real program loads TensorFlow in the background after its window opens (so the
first training run never stalls the window on the import), unless told not to."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

CHILD = """
import sys, time
from PySide6.QtCore import QCoreApplication, QTimer
from skysegui.gui import tf_warmup
from skysegui.ml import tf_import
app = QCoreApplication([])
scheduled = tf_warmup.schedule_tf_warmup(delay_ms=50)
end = time.monotonic() + float(sys.argv[1])
def poll():
    loaded = tf_import._sm is not None and "tensorflow" in sys.modules  # imported to the end
    if loaded or time.monotonic() > end:
        print(f"scheduled={scheduled} loaded={loaded}", flush=True)
        app.quit()
timer = QTimer(); timer.timeout.connect(poll); timer.start(50)
app.exec()
"""


def _run(warmup: str, seconds: float) -> str:
    env = dict(os.environ, SKYSEGUI_TF_WARMUP=warmup, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", CHILD, str(seconds)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_program_loads_tensorflow_in_the_background():
    assert _run("1", 240) == "scheduled=True loaded=True"


def test_the_warmup_can_be_turned_off():
    assert _run("0", 1.5) == "scheduled=False loaded=False"
