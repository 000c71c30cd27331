"""Start several local training workers (MultiWorkerMirroredStrategy) to try a cluster setup.

    python training/run_distributed.py --workers 2 -- --project ~/skies --config tiny-test

Each worker is `skysegui train ... --strategy multiworker` with its own TF_CONFIG on
127.0.0.1 ports; its output lines come prefixed with `[worker N]`. Worker 0 is the chief:
it writes the model folder and holds the project's lock; the others keep their cache in
<project>/cache/worker-N/ and their checkpoints in a scratch folder. On real machines, run
the same command on each with the TF_CONFIG shown in training/README.md instead.

If a worker dies, the others stop within SKYSEGUI_HEARTBEAT_TIMEOUT seconds (default 30)
with an error that says how to resume: run this again with `--resume --name <model>`
after the `--`. The exit status is the first non-zero status of a worker (0 when all
succeeded).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading


def cluster_hosts(n: int, host: str = "127.0.0.1") -> list[str]:
    """`n` free host:port addresses (the ports are held together while chosen, so distinct)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind((host, 0))
        return [f"{host}:{s.getsockname()[1]}" for s in socks]
    finally:
        for s in socks:
            s.close()


def worker_env(hosts: list[str], index: int, base: dict | None = None) -> dict:
    env = dict(os.environ if base is None else base)
    env["TF_CONFIG"] = json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}})
    return env


def start_worker(hosts: list[str], index: int, train_args: list[str], env: dict | None = None,
                 **popen) -> subprocess.Popen:
    """`skysegui train <train_args> --strategy multiworker` as worker `index` of `hosts`."""
    cmd = [sys.executable, "-m", "skysegui", "train", *train_args, "--strategy", "multiworker"]
    return subprocess.Popen(cmd, env=worker_env(hosts, index, env), **popen)


def _relay(index: int, stream, lock: threading.Lock) -> None:
    """Copy a worker's output line by line (progress lines end in \\r) with its prefix."""
    pending = b""
    for chunk in iter(lambda: stream.read1(4096), b""):
        pending += chunk.replace(b"\r", b"\n")
        *lines, pending = pending.split(b"\n")
        with lock:
            for line in lines:
                if line.strip():
                    sys.stdout.write(f"[worker {index}] {line.decode(errors='replace')}\n")
            sys.stdout.flush()
    if pending.strip():
        with lock:
            sys.stdout.write(f"[worker {index}] {pending.decode(errors='replace')}\n")
            sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("train_args", nargs=argparse.REMAINDER, help="arguments after -- go to `skysegui train`")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    train_args = [a for a in args.train_args if a != "--"]
    hosts = cluster_hosts(args.workers)
    lock = threading.Lock()
    procs, relays = [], []
    try:
        for index in range(args.workers):
            p = start_worker(hosts, index, train_args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            procs.append(p)
            relays.append(threading.Thread(target=_relay, args=(index, p.stdout, lock), daemon=True))
            relays[-1].start()
        codes = [p.wait() for p in procs]
    except KeyboardInterrupt:
        codes = [130]
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        for t in relays:
            t.join(timeout=5)
    print(f"worker exit codes: {[p.returncode for p in procs]}")
    first = next((c for c in codes if c), 0)
    return first if first >= 0 else 128 - first  # killed by a signal: 128 + its number


if __name__ == "__main__":
    sys.exit(main())
