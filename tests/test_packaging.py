"""The program as a user installs it: resources inside the package, declared dependencies,
built-in training configs, and a start-up that imports only what it needs.

The real wheel install (build, install into a fresh venv, run from elsewhere) is
.ci/wheel_check.sh, run by CI after the suite (`make wheel-check`).
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "skysegui"

# What `skysegui --help` must not import (each costs 50-2000 ms of start-up).
HEAVY = ("numpy", "cv2", "OpenEXR", "tifffile", "pycocotools", "tensorflow", "tf_keras", "h5py",
         "PySide6", "pyqtgraph", "PyOpenColorIO", "onnx", "onnxruntime", "tf2onnx")


def _run(script: str, **env) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=300, cwd=REPO, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- start-up ---------------------------------------------------------------------------
def test_help_imports_no_heavy_library():
    loaded = _run(f"""
        import contextlib, io, json, sys
        from skysegui.cli.main import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            try:
                main(["--help"])
            except SystemExit:
                pass
        assert "train" in out.getvalue() and "export" in out.getvalue()
        print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
        """)
    assert loaded == [], f"`skysegui --help` imports {loaded}: import them where they are used"


def test_the_window_imports_pyqtgraph_only_when_the_curves_are_shown():
    seen = _run("""
        import json, sys, tempfile
        from pathlib import Path
        from skysegui.gui.app import make_application
        from skysegui.gui.main_window import MainWindow
        from skysegui.gui.settings import AppSettings, ini_settings

        app = make_application()
        settings = AppSettings(ini_settings(Path(tempfile.mkdtemp()) / "s.ini"))
        window = MainWindow(settings=settings, ask=lambda kind, text: "discard")
        window.resize(1600, 960)
        window.show()
        for _ in range(20):
            app.processEvents()
        before = {m: m in sys.modules for m in ("pyqtgraph", "tensorflow")}
        panel = window.learning.training
        window.learning.training_dock.raise_()
        panel.parentWidget().parentWidget().ensureWidgetVisible(panel.curves_view)  # scroll to it
        for _ in range(20):
            app.processEvents()
        after = {"pyqtgraph": "pyqtgraph" in sys.modules, "built": panel.curves_view.built}
        window.close()
        print(json.dumps({"before": before, "after": after}))
        """, QT_QPA_PLATFORM="offscreen")
    assert seen["before"] == {"pyqtgraph": False, "tensorflow": False}, seen
    assert seen["after"] == {"pyqtgraph": True, "built": True}, seen


def test_the_curves_keep_points_given_before_they_are_painted(qtbot):
    from skysegui.gui.panels.curves import TrainingCurves

    view = TrainingCurves()
    qtbot.addWidget(view)
    view.set_points("loss", [(0.5, 2.0), (1.0, 1.5)])
    assert not view.built and not view.lines
    view.resize(400, 400)
    view.show()
    qtbot.waitUntil(lambda: view.built)
    xs, ys = view.lines["loss"].getData()
    assert list(xs) == [0.5, 1.0] and list(ys) == [2.0, 1.5]
    view.clear()
    xs, _ = view.lines["loss"].getData()
    assert xs is None or len(xs) == 0


# --- resources ----------------------------------------------------------------------------
def test_the_style_sheet_is_package_data_read_with_importlib_resources():
    from skysegui.gui import app

    assert (PACKAGE / "resources" / app.STYLE_SHEET).is_file()
    assert not (REPO / "resources").exists(), "run-time resources belong in skysegui/resources/"
    app.style_sheet.cache_clear()
    try:
        assert "QDockWidget" in (app.style_sheet() or "")
    finally:
        app.style_sheet.cache_clear()


def test_a_missing_style_sheet_is_said_once_on_stderr(monkeypatch, tmp_path, capsys):
    from skysegui.gui import app

    monkeypatch.setattr(app.resources, "files", lambda package: tmp_path)
    app.style_sheet.cache_clear()
    try:
        assert app.style_sheet() is None and app.style_sheet() is None
    finally:
        app.style_sheet.cache_clear()
    err = capsys.readouterr().err
    assert err.count("warning: the style sheet") == 1 and "reinstall skysegui" in err


def test_no_module_reads_files_beside_the_package():
    """Run-time files are package data found with importlib.resources: a path built from
    __file__ through parents[...] leads out of an installed package."""
    offenders = [f"{p.relative_to(REPO)}:{n}" for p in PACKAGE.rglob("*.py")
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if re.search(r"__file__.*parents?\b|parents\[\d\]", line)]
    assert not offenders, offenders


# --- built-in training configs ------------------------------------------------------------
def test_train_config_takes_a_built_in_name_or_a_file(tmp_path):
    from skysegui.core.errors import TrainingError
    from skysegui.ml.configs import load_train_config, preset_names
    from skysegui.ml.train import TrainConfig

    names = preset_names()
    assert {"cpu-laptop", "gpu-server", "ldr-report", "multi-worker", "tiny-test"} <= set(names)
    packaged = PACKAGE / "resources" / "configs" / "cpu-laptop.toml"
    assert load_train_config("cpu-laptop") == TrainConfig.from_toml(packaged)
    assert load_train_config("cpu-laptop.toml") == TrainConfig.from_toml(packaged)
    own = tmp_path / "mine.toml"
    own.write_text(packaged.read_text(encoding="utf-8").replace('name = "cpu-unet-mobilenetv2"', 'name = "mine"'))
    assert load_train_config(str(own)).name == "mine"
    with pytest.raises(TrainingError, match="cpu-laptop, gpu-server"):
        load_train_config("no-such-config")
    with pytest.raises(TrainingError, match="no training config"):
        load_train_config(str(tmp_path / "cpu-laptop.toml"))  # a path is a path, not a name


def test_train_help_names_the_built_in_configs(capsys):
    from skysegui.cli.main import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "training/configs" not in out
    assert "cpu-laptop" in out and "tiny-test" in out


# --- dependencies -------------------------------------------------------------------------
# Imported modules that come with a declared distribution (no pin of their own is wanted).
COMES_WITH = {"shiboken6": "PySide6", "classification_models": "segmentation-models"}
# Module -> distribution where the module is not installed here to ask importlib.metadata.
# (OpenEXR is one extension module file, which packages_distributions() does not name.)
DISTRIBUTION = {"cv2": "opencv-contrib-python-headless", "pydensecrf": "pydensecrf2",
                "PyOpenColorIO": "opencolorio", "OpenEXR": "OpenEXR"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> tuple[set[str], set[str]]:
    """(runtime dependencies, optional extras' dependencies but dev), normalised names."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(specs):
        return {_normal(re.split(r"[\s<>=!~;\[]", s, maxsplit=1)[0]) for s in specs}

    extras = {n for key, specs in project.get("optional-dependencies", {}).items() if key != "dev"
              for n in names(specs)}
    return names(project["dependencies"]), extras


def _imported() -> dict[str, str]:
    """Top-level third-party modules imported anywhere in skysegui/, with one file each."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods = [node.module]
            else:
                continue
            for mod in mods:
                top = mod.split(".")[0]
                if top not in sys.stdlib_module_names and top != "skysegui":
                    found.setdefault(top, str(path.relative_to(REPO)))
    return found


@functools.cache
def _installed() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def _distribution(module: str) -> str:
    if module in COMES_WITH:
        return _normal(COMES_WITH[module])
    if module in DISTRIBUTION:
        return _normal(DISTRIBUTION[module])
    dists = _installed().get(module)
    assert dists, f"{module} is imported but no installed distribution provides it"
    return _normal(dists[0])


def test_every_imported_library_is_declared_in_pyproject():
    runtime, extras = _declared()
    missing = {m: f for m, f in _imported().items() if _distribution(m) not in runtime | extras}
    assert not missing, f"imported but not declared in pyproject.toml (module: a file): {missing}"


def test_every_declared_library_is_imported():
    runtime, _ = _declared()
    used = {_distribution(m) for m in _imported()}
    unused = runtime - used
    assert not unused, f"declared in pyproject.toml but never imported by skysegui/: {unused}"


def test_no_private_tf_keras_modules():
    private = [f"{p.relative_to(REPO)}:{n}" for p in PACKAGE.rglob("*.py")
               for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
               if re.search(r"\b(tf_keras|keras)\.src\b", line)]
    assert not private, f"use tf-keras's public API: {private}"
