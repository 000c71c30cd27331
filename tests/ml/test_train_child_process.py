"""A training run in a child process: its messages, its result, a child that dies, and a
child whose parent dies (it saves what it has and ends)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from skysegui.core.synthetic import write_demo_project
from skysegui.ml.model import PRESETS
from skysegui.ml.train import TrainConfig
from skysegui.ml.train.child_process import TrainingProcess

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path):
    return write_demo_project(tmp_path / "p", count=3, width=256, height=128, labelled=3, seed=5)


def tiny(name: str, epochs: int = 2, steps: int = 3) -> TrainConfig:
    return TrainConfig(model=PRESETS["tiny"], name=name, epochs=epochs, steps_per_epoch=steps,
                       batch_size=2, val_fraction=0.34)


def test_a_run_in_a_child_reports_progress_and_its_saved_model(project):
    run = TrainingProcess(tiny("child"), project.snapshot(project.load_labels().labels))
    run.start()
    assert run.pid is not None and run.pid != os.getpid()
    kinds, result = [], None
    for kind, payload in run.messages():
        kinds.append(kind)
        if kind == "finished":
            result = payload
    assert kinds[-1] == "finished", kinds
    assert "status" in kinds and kinds.count("progress") >= 6  # 2 epochs x 3 batches, plus epoch ends
    assert result.epochs_done == 2 and not result.cancelled
    from skysegui.ml.model import load_model

    assert load_model(result.model_dir).card.epoch >= 1


def test_a_child_that_dies_ends_the_messages_with_a_failure(project):
    run = TrainingProcess(tiny("killed", epochs=500, steps=100), project)
    run.start()
    kinds, last = [], None
    for kind, payload in run.messages():
        kinds.append(kind)
        last = payload
        if kind == "progress":
            run.kill()
    assert kinds[-1] == "failed" and "ended without a result" in last and "signal 9" in last


def test_a_user_error_in_the_child_comes_back_as_its_message(tmp_path):
    from skysegui.core.project import Project

    empty = Project.create(tmp_path / "empty")
    run = TrainingProcess(tiny("none"), empty)
    run.start()
    messages = list(run.messages())
    assert messages[-1][0] == "failed" and "label" in messages[-1][1]


def test_an_orphaned_child_cancels_saves_its_model_and_ends(project, tmp_path):
    """The window's process is killed mid-run: the run saves the model trained so far."""
    pid_file = tmp_path / "child.json"
    parent = textwrap.dedent(f"""
        import json, os, sys
        sys.path.insert(0, {str(REPO)!r})
        from skysegui.core.project import Project
        from skysegui.ml.model import PRESETS
        from skysegui.ml.train import TrainConfig
        from skysegui.ml.train.child_process import TrainingProcess

        config = TrainConfig(model=PRESETS["tiny"], name="orphan", epochs=500, steps_per_epoch=100,
                             batch_size=2, val_fraction=0.34)
        run = TrainingProcess(config, Project({str(project.root)!r}))
        run.start()
        for kind, payload in run.messages():
            if kind == "progress" and payload.event == "batch" and payload.batch >= 2:
                open({str(pid_file)!r}, "w").write(json.dumps(run.pid))
                os._exit(9)  # the window's process dies without a word
    """)
    subprocess.run([sys.executable, "-c", parent], check=False, timeout=300)
    child = json.loads(pid_file.read_text())
    deadline = time.monotonic() + 120
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(child), "the orphaned training process kept running"
    from skysegui.ml.model import list_models, load_model

    saved = list_models(project.models_dir)
    assert saved and load_model(saved[0]).card is not None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (ended, not reaped by the dead parent's init yet) counts as ended
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
