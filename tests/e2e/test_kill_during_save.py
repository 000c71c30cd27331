"""SIGKILL in the middle of a save and of an autosave (real child processes, seeded random
moments): labels.json is always one complete version, never a partial file, and the
autosaved edits are offered at the next start."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest

from skysegui.core.annotations import coco_dict
from skysegui.core.project import Project
from tests.e2e._child import LineChild
from tests.e2e._faults import big_label_set

ITERATIONS = 6
VERSION_KEY = "skysegui_test_version"

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

CHILD = """
import sys
sys.path.insert(0, {repo!r})
from skysegui.core.project import Project
from tests.e2e._faults import big_label_set

mode, root, version = sys.argv[1], sys.argv[2], int(sys.argv[3])
project = Project(root)
print("ready", flush=True)
while True:
    labels = big_label_set(version)
    print("start", flush=True)
    if mode == "save":
        project.save_labels(labels)
    else:
        project.autosave(labels)
    print(version, flush=True)  # this version is completely on disk
    version += 1
"""


class Child(LineChild):
    """A saving child process: prints "ready", then "start" and the version of every write."""

    def __init__(self, mode: str, root: Path, first_version: int) -> None:
        super().__init__(CHILD, [mode, str(root), str(first_version)])

    def wait_for_lines(self, count: int, timeout: float = 60.0) -> None:
        self.wait_until(lambda: len(self.lines) >= count, timeout)

    @property
    def versions(self) -> list[int]:
        """The versions the child reported complete."""
        return [int(v) for v in self.lines if v.isdigit()]

    @property
    def in_a_save(self) -> bool:
        return bool(self.lines) and self.lines[-1] == "start"


def expected(version: int) -> dict:
    return json.loads(json.dumps(coco_dict(big_label_set(version))))


def temp_files(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if ".tmp" in p.name}


def wait_for_new_temp_file(root: Path, before: set[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not temp_files(root) - before:
        if time.monotonic() > deadline:
            raise AssertionError("the child never started writing")


def kill_during_saves(mode: str, root: Path, first: int, rng: random.Random,
                      on_temp_file: bool) -> tuple[list[int], bool, bool]:
    """Start a child, let it finish one write, then kill it at a random moment of the next
    ones, or (on_temp_file) the moment its next temporary file appears, i.e. mid-write.
    Returns the completed versions, whether the kill came inside a save call and whether
    it left a half-written temporary file behind."""
    before = temp_files(root)
    child = Child(mode, root, first)
    child.wait_for_lines(3)  # "ready", "start" and one complete version
    if on_temp_file:
        wait_for_new_temp_file(root, before)
    else:
        time.sleep(rng.uniform(0.0, 0.5))
    child.kill()
    done = child.versions
    assert done and done[0] == first, done
    return done, child.in_a_save, bool(temp_files(root) - before)


def test_kill_during_save_leaves_one_complete_version(tmp_path):
    rng = random.Random(9)
    project = Project.create(tmp_path / "p")
    project.save_labels(big_label_set(0))
    version, interrupted, in_saves = 1, 0, 0
    for n in range(ITERATIONS):
        done, in_save, mid_write = kill_during_saves("save", project.root, version, rng, n % 2 == 1)
        in_saves += in_save
        interrupted += mid_write
        data = json.loads(project.labels_path.read_text(encoding="utf-8"))  # valid JSON
        saved = data[VERSION_KEY]
        # the last version reported complete, or the one being written if its replace landed
        assert saved in (done[-1], done[-1] + 1)
        assert data == expected(saved)  # complete: equal to what that version wrote
        backup = json.loads((project.labels_path.with_name("labels.json.bak")).read_text(encoding="utf-8"))
        # a complete older version; the same one when the kill came after the save had
        # copied the backup but before it replaced the labels (nothing of the labels is lost)
        assert backup == expected(backup[VERSION_KEY]) and backup[VERSION_KEY] <= saved
        reopened = Project.open(project.root).load_labels()
        assert len(reopened.labels.annotations) == len(big_label_set(0).annotations)
        version = saved + 1
    assert in_saves >= ITERATIONS // 2, "too few kills landed inside a save call"
    assert interrupted, "no kill left a half-written file: the test did not test anything"


def test_kill_during_autosave_offers_the_autosaved_edits(tmp_path):
    rng = random.Random(17)
    project = Project.create(tmp_path / "p")
    project.save_labels(big_label_set(0))
    saved_text = project.labels_path.read_text(encoding="utf-8")
    version, interrupted, in_saves = 1, 0, 0
    for n in range(ITERATIONS):
        done, in_save, mid_write = kill_during_saves("autosave", project.root, version, rng, n % 2 == 1)
        in_saves += in_save
        interrupted += mid_write
        assert project.labels_path.read_text(encoding="utf-8") == saved_text  # untouched
        restarted = Project.open(project.root)
        assert restarted.has_recovery()
        recovered = restarted.recover().labels
        got = recovered.extra[VERSION_KEY]
        assert got in (done[-1], done[-1] + 1)
        assert json.loads(json.dumps(coco_dict(recovered))) == expected(got)
        version = got + 1
    assert in_saves >= ITERATIONS // 2, "too few kills landed inside a save call"
    assert interrupted, "no kill left a half-written file: the test did not test anything"
    # accepting the recovery saves it and the offer goes away
    restarted = Project.open(project.root)
    restarted.save_labels(restarted.recover().labels)
    assert not restarted.has_recovery()
    assert json.loads(restarted.labels_path.read_text(encoding="utf-8"))[VERSION_KEY] == version - 1


def test_leftover_temporary_files_do_not_disturb_the_project(tmp_path):
    """A kill leaves `.labels.*.tmp.json`; the project neither lists nor loads it."""
    project = Project.create(tmp_path / "p")
    project.save_labels(big_label_set(0))
    (project.root / ".labels.abc123.tmp.json").write_text('{"images": [', encoding="utf-8")
    (project.images_dir / ".pano.x1.tmp.exr").write_bytes(b"v/1\x01partial")
    reopened = Project.open(project.root)
    assert reopened.image_paths() == []
    assert not reopened.has_recovery()
    loaded = reopened.load_labels()
    assert not any(".tmp" in w for w in loaded.warnings)
    assert loaded.labels.extra[VERSION_KEY] == 0
    assert os.listdir(project.images_dir) == [".pano.x1.tmp.exr"]


# --- training ------------------------------------------------------------------------------
TRAIN_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from tests.e2e.test_kill_during_save import train

train(Path(sys.argv[1]), resume=False, listener=lambda p: print(p.event, p.epoch, p.batch, flush=True))
"""


def train(root: Path, resume: bool, listener):
    """Train the tiny preset for 3 short epochs on 4 small synthetic panoramas."""
    from skysegui.core.synthetic import make_panorama
    from skysegui.ml.data import array_sources, build_cache
    from skysegui.ml.model import preset
    from skysegui.ml.train import TrainConfig, Trainer

    panos = {f"day{i}": make_panorama(128, 64, seed=i, kind="day") for i in range(4)}
    cache = build_cache(array_sources({k: (p.pixels, p.sky) for k, p in panos.items()}),
                        root / ("cache-resume" if resume else "cache"), "hdr_log")
    config = TrainConfig(model=preset("tiny"), epochs=3, steps_per_epoch=4, batch_size=4,
                         early_stopping=0, val_crops_per_image=2, seed=0)
    return Trainer(config, cache, root / "model", listener=listener, resume=resume).run()


@pytest.mark.slow
def test_training_killed_mid_epoch_resumes_from_its_last_checkpoint(tmp_path):
    from skysegui.ml.train.callbacks import read_state

    child = LineChild(TRAIN_CHILD, [str(tmp_path)],
                      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES=""))
    # epoch 1 is checkpointed, epoch 2 is half way
    child.wait_until(lambda: "batch 2 2" in child.lines, 120.0, "the trainer", poll=0.01)
    child.kill()
    assert "epoch 2 4" not in child.lines  # killed mid-epoch
    state = read_state(tmp_path / "model" / "last")
    assert state is not None and int(state["epoch"]) == 1

    events = []
    result = train(tmp_path, resume=True, listener=events.append)  # the next start
    batches = [(e.epoch, e.batch) for e in events if e.event == "batch"]
    assert batches[0] == (2, 1)  # continued with epoch 2, not from scratch
    assert result.epochs_done == 3 and not result.cancelled
    assert int(read_state(tmp_path / "model" / "last")["epoch"]) == 3
