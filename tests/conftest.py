"""Shared fixtures. Real data lives in ../shared/data beside the repo (absent in a user's clone)."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# No built-in sky model unless a test points to one (monkeypatch.setenv): results must not
# depend on whether the recipe has put one into skysegui/resources/builtin_model yet.
os.environ["SKYSEGUI_BUILTIN_MODEL"] = "none"
# Windows started as the real program (subprocesses) keep TensorFlow unloaded until a test
# uses it; tests/gui/test_tf_warmup.py checks the background load itself.
os.environ["SKYSEGUI_TF_WARMUP"] = "0"

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _need(path: Path) -> Path:
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must run with ../shared beside the repo")
        pytest.skip(f"shared data not found at {path} (only present beside the dev repo)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; skips with a reason where it is absent (never in CI)."""
    return _need(SHARED_DATA)


@pytest.fixture(scope="session")
def hdri_dir(shared_data) -> Path:
    return _need(shared_data / "hdri")


@pytest.fixture(scope="session")
def gt_dir(shared_data) -> Path:
    return _need(shared_data / "gt")


@pytest.fixture(scope="session")
def label_studio_dir(shared_data) -> Path:
    return _need(shared_data / "label-studio")


@pytest.fixture(scope="session")
def qapp(qapp):
    """pytest-qt's application with the program's own garbage-collection rule: cycles are
    collected on the GUI thread only (skysegui/gui/gui_thread_gc.py). Without it a
    TensorFlow thread could free an earlier test's widgets and deadlock with Qt."""
    from skysegui.gui.gui_thread_gc import install_gui_thread_gc

    install_gui_thread_gc(qapp)
    return qapp


@pytest.fixture(autouse=True)
def _collect_cycles_between_tests():
    """Once the Qt collector has turned automatic collection off in this process, tests that
    never run the event loop (training in the main thread) would only pile up cycles: apply
    the collector's rule at the end of every test as its timer would."""
    yield
    if not gc.isenabled():
        from PySide6.QtCore import QCoreApplication

        from skysegui.gui.gui_thread_gc import GuiThreadGarbageCollector

        app = QCoreApplication.instance()
        collector = app.findChild(GuiThreadGarbageCollector) if app is not None else None
        if collector is not None:
            collector.check()
