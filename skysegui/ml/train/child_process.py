"""One training run in a child process, reporting back over a pipe (no Qt, no TensorFlow here).

Why: a run in a thread of the window's process shares the interpreter lock with the GUI
thread. Keras traces graphs, runs callbacks and makes garbage in Python, and TensorFlow
holds the lock through some long C calls (graph building, the first trace), so the window
froze for 70 ms to over a second while a run started or ran beside a prediction (issue
15). A child process has its own interpreter: the window's thread only reads small
messages from a pipe. (It keeps the normal CPU priority: at nice 10 a run beside other
busy programs on 2 cores got a tenth of a core and took minutes for seconds' work.)

The parent side (`TrainingProcess`) yields `(kind, payload)` messages:
  ("status", str)               what the run is doing while it prepares (cache, model)
  ("progress", TrainProgress)   per batch and per epoch
  ("finished", TrainResult)     the saved model
  ("failed", str)               a message for the user
and always ends after one "finished" or "failed", also when the child dies without a word.
Cancel sets a shared event that the child's CancelToken reads: the run stops after the
current batch and saves what it has. A child whose parent dies cancels itself the same
way, so an orphaned run saves its model and ends instead of holding the CPU.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

from skysegui.core.errors import CancelledError, SkysegError
from skysegui.core.progress import CancelToken

POLL_S = 0.1  # how often the parent looks at the pipe and the child's liveness
PARENT_CHECK_S = 1.0  # how often the child checks that its parent lives
ORPHAN_GRACE_S = 120.0  # an orphaned child cancels at once and is ended after this long
CANCELLED_BEFORE_FIRST_BATCH = "training cancelled before the first batch: no model was saved"
_CONTEXT = "spawn"  # a fresh interpreter: forking a process that runs Qt or TensorFlow is unsafe


def _watch_parent(parent_pid: int, token: CancelToken) -> None:
    """Cancel the run when the parent process is gone (its pid no longer our parent)."""
    import time

    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_S)
    token.cancel()  # saves the model trained so far, then the run ends
    time.sleep(ORPHAN_GRACE_S)
    os._exit(3)


def _child_main(conn, cancel_event, parent_pid: int, config, data, out_dir, resume: bool) -> None:
    """The child's whole life: run the Trainer, send its messages, end with one verdict."""
    token = CancelToken(cancel_event)
    threading.Thread(target=_watch_parent, args=(parent_pid, token), daemon=True,
                     name="parent-watch").start()
    lock = threading.Lock()  # the dataset cache reports progress from its build threads

    def send(kind: str, payload) -> None:
        with lock:
            try:
                conn.send((kind, payload))
            except (BrokenPipeError, OSError):  # the parent stopped listening: keep training
                pass

    try:
        from skysegui.ml.train import Trainer
        from skysegui.ml.train.graph_release import release_run_graphs

        trainer = Trainer(config, data, out_dir, progress=lambda _d, _t, msg: send("status", msg),
                          cancel=token, listener=lambda p: send("progress", p), resume=resume)
        with release_run_graphs():
            result = trainer.run()
        send("finished", result)
    except CancelledError:
        send("failed", CANCELLED_BEFORE_FIRST_BATCH)
    except SkysegError as exc:
        send("failed", str(exc))
    except Exception as exc:  # a bug: one line for the user, the trace on stderr
        traceback.print_exc()
        send("failed", f"unexpected {type(exc).__name__}: {exc}")
    finally:
        conn.close()


class TrainingProcess:
    """A training run in a spawned child process; iterate `messages()` until it ends."""

    def __init__(self, config, data, out_dir: str | Path | None = None, resume: bool = False) -> None:
        ctx = multiprocessing.get_context(_CONTEXT)
        self._cancel = ctx.Event()
        self._receiver, sender = ctx.Pipe(duplex=False)
        # not a daemon: the run's own data loader may start worker processes
        self._process = ctx.Process(
            target=_child_main, name="skysegui-training", daemon=False,
            args=(sender, self._cancel, os.getpid(), config, data,
                  None if out_dir is None else str(out_dir), resume))
        self._sender = sender

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> None:
        self._process.start()
        self._sender.close()  # the child holds the only writing end: EOF when it ends

    def cancel(self) -> None:
        """Stop after the current batch; the model trained so far is saved."""
        self._cancel.set()

    def kill(self) -> None:
        """End the child at once (its last finished epoch stays saved on disk)."""
        if self._process.is_alive():
            self._process.kill()

    def messages(self) -> Iterator[tuple[str, object]]:
        """The child's messages as they come; ends with one "finished" or "failed"."""
        ended = False
        try:
            while not ended:
                if not self._receiver.poll(POLL_S):
                    if not self._process.is_alive() and not self._receiver.poll(0):
                        break
                    continue
                try:
                    kind, payload = self._receiver.recv()
                except (EOFError, OSError):
                    break
                ended = kind in ("finished", "failed")
                yield kind, payload
        finally:
            self._receiver.close()
            self._process.join(timeout=30)
        if not ended:
            code = self._process.exitcode
            how = f"exit code {code}" if code is None or code >= 0 else f"signal {-code}"
            yield "failed", f"the training process ended without a result ({how}): see the log for its error"
