"""Several workers, really: `skysegui train --strategy multiworker` processes on 127.0.0.1
with their own TF_CONFIG train one tiny model with MultiWorkerMirroredStrategy.

Each worker is its own process (TensorFlow's cluster set-up is once per process), started
the way training/run_distributed.py starts them, with bounded waits: every test kills what
it started, even when it fails. On the loaded 2-core development machine a two-worker run
of the tiny config takes about a minute."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from skysegui.core.synthetic import write_demo_project
from training.run_distributed import cluster_hosts, start_worker

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
RUN_S = 300  # one training run of two workers, on a loaded machine


@pytest.fixture
def project(tmp_path, monkeypatch):
    # the workers' scratch folders too: a killed worker cannot delete its own
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return write_demo_project(tmp_path / "p", count=4, width=256, height=128, labelled=3, seed=2)


def _env(**extra) -> dict:
    env = dict(os.environ, **extra)
    env.pop("TF_CONFIG", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


class Workers:
    """Worker processes of one cluster, their output in files; all killed at the end."""

    def __init__(self, tmp: Path, train_args: list[str], n: int = 2, env: dict | None = None,
                 start: range | None = None) -> None:
        self.hosts = cluster_hosts(n)
        self.logs = [tmp / f"worker-{i}-{time.monotonic_ns()}.log" for i in range(n)]
        self.procs, self.files = {}, []
        for i in start or range(n):
            self.files.append(open(self.logs[i], "wb"))  # noqa: SIM115  (closed in kill_all)
            self.procs[i] = start_worker(self.hosts, i, train_args, env=env or _env(), cwd=REPO,
                                         stdout=self.files[-1], stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def wait(self, index: int, timeout: float) -> int:
        return self.procs[index].wait(timeout=timeout)

    def output(self, index: int) -> str:
        return self.logs[index].read_bytes().decode(errors="replace").replace("\r", "\n")

    def kill_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
        for f in self.files:
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill_all()


def _steps(output: str, label: str) -> list[int]:
    """Global step counts of one worker's progress lines ("train (worker 1 of 2): 3/3 ...")."""
    return [int(m) for m in re.findall(rf"train \({re.escape(label)}\): +(\d+)/\d+ .*epoch", output)]


def _fail(workers: Workers, what: str) -> str:
    return f"{what}\n--- worker 0:\n{workers.output(0)[-3000:]}\n--- worker 1:\n{workers.output(1)[-3000:]}"


def _launch(argv: list[str], timeout: float, env: dict | None = None) -> tuple[int, str]:
    """training/run_distributed.py with `argv`; (status, output). Its process group is
    killed when it overruns, so no worker outlives the test."""
    p = subprocess.Popen([sys.executable, str(REPO / "training" / "run_distributed.py"), *argv],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env or _env(), cwd=REPO,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        pytest.fail(f"run_distributed.py ran over {timeout} s:\n{out.decode(errors='replace')[-4000:]}")
    return p.returncode, out.decode(errors="replace")


def _worker_lines(output: str, index: int) -> str:
    prefix = f"[worker {index}] "
    return "\n".join(line[len(prefix):] for line in output.splitlines() if line.startswith(prefix))


def test_two_workers_train_one_model_and_the_chief_writes_it(project, tmp_path):
    """Two local workers through training/run_distributed.py, as a user tries a cluster."""
    from skysegui.ml.model import load_model

    code, out = _launch(["--workers", "2", "--", "--project", str(project.root), "--config", "tiny-test",
                         "--scratch", "--name", "two", "--steps", "4", "--batch-size", "4"], RUN_S)
    assert code == 0 and "worker exit codes: [0, 0]" in out, out[-6000:]
    chief, other = _worker_lines(out, 0), _worker_lines(out, 1)
    # both workers took every step (synchronous: the global batch is split over them)
    assert _steps(chief, "worker 0 of 2, the chief")[-1] == 4, chief
    assert _steps(other, "worker 1 of 2")[-1] == 4, other
    assert "worker 1 of 2: done (1 epoch); the chief, worker 0, writes the model two" in other
    assert "model: " in chief and "model: " not in other
    # only the chief wrote into the project: the model, and the other worker its own cache
    models = project.models_dir
    assert sorted(p.name for p in models.iterdir()) == ["two"]
    assert (project.cache_dir / "worker-1").is_dir()
    card = json.loads((models / "two" / "card.json").read_text())
    assert card["compute"]["workers"] == 2 and card["compute"]["replicas"] == 2
    assert "MultiWorkerMirroredStrategy over 2 replicas" in card["compute"]["strategy"]
    assert card["compute"]["seconds_per_step"] > 0
    # the chief's model loads with the project's loader and predicts
    loaded = load_model(models / "two")
    x = np.random.default_rng(0).random((1, 64, 128, 3), dtype=np.float32)
    y = loaded.model.predict(x, verbose=0)
    assert y.shape == (1, 64, 128, 1) and y.dtype == np.float32 and np.isfinite(y).all()
    assert ((y >= 0) & (y <= 1)).all()


@pytest.mark.timeout(2 * RUN_S + 300)  # two training runs and the wait for the chief to stop
def test_a_killed_worker_stops_the_other_with_a_clear_error_and_resume_goes_on(project, tmp_path):
    """Kill worker 1 after the first epoch: the chief stops within the heartbeat timeout
    with a TrainingError (exit status 2) that says how to resume; both workers started
    again with --resume continue after that epoch."""
    args = ["--project", str(project.root), "--config", "tiny-test", "--scratch", "--name", "kill",
            "--epochs", "2", "--steps", "4", "--batch-size", "4"]
    env = _env(SKYSEGUI_HEARTBEAT_TIMEOUT="10")
    state = project.models_dir / "kill" / "last" / "state.json"
    with Workers(tmp_path, args, env=env) as w:
        deadline = time.monotonic() + RUN_S
        while not state.is_file():  # the chief finished (and saved) epoch 1
            assert time.monotonic() < deadline and w.procs[0].poll() is None, _fail(w, "no epoch finished")
            time.sleep(0.2)
        w.procs[1].kill()
        killed = time.monotonic()
        code = w.wait(0, 180)  # bounded: not a hang
        stopped_after = time.monotonic() - killed
        chief = w.output(0)
    assert code == 2, chief
    error = [line for line in chief.splitlines() if line.startswith("error: ")]
    assert error and "worker 1 stopped" in error[-1], chief
    assert "--resume --name kill to continue after epoch 1" in error[-1]
    assert "Traceback" not in chief
    print(f"the chief stopped {stopped_after:.1f} s after worker 1 was killed")
    assert stopped_after < 150
    assert json.loads(state.read_text())["epoch"] == 1

    with Workers(tmp_path, [*args, "--resume"], env=env) as w:
        codes = [w.wait(0, RUN_S), w.wait(1, 60)]
        assert codes == [0, 0], _fail(w, f"exit codes {codes}")
        chief, other = w.output(0), w.output(1)
    # both went on from step 5 of 8 (epoch 2) and ended together
    for out, label in ((chief, "worker 0 of 2, the chief"), (other, "worker 1 of 2")):
        steps = _steps(out, label)
        assert steps and min(steps) > 4 and steps[-1] == 8, out
    assert json.loads(state.read_text())["epoch"] == 2
    rows = (project.models_dir / "kill" / "curves.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2"]


def test_a_worker_whose_peers_never_start_gives_up_in_time(project, tmp_path):
    args = ["--project", str(project.root), "--config", "tiny-test", "--scratch", "--name", "alone"]
    with Workers(tmp_path, args, env=_env(SKYSEGUI_CLUSTER_TIMEOUT="10"), start=range(1)) as w:
        t0 = time.monotonic()
        code = w.wait(0, 180)
        waited = time.monotonic() - t0
        out = w.output(0)
    assert code == 2, out
    assert "error: worker 0 of 2, the chief: worker 1 did not join the cluster within 10 s" in out
    assert "SKYSEGUI_CLUSTER_TIMEOUT" in out and "Traceback" not in out
    assert waited < 120
    assert not (project.models_dir / "alone" / "card.json").exists()


def test_run_distributed_returns_the_first_failure_of_its_workers(project, tmp_path):
    """A config error in every worker comes back as the launcher's status."""
    code, out = _launch(["--workers", "2", "--", "--project", str(project.root),
                         "--config", str(tmp_path / "missing.toml")], 180)
    assert code == 2, out
    for i in (0, 1):
        assert re.search(rf"^\[worker {i}\] error: .*missing\.toml", out, re.M), out
    assert "worker exit codes: [2, 2]" in out
