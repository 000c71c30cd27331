"""Start several local training workers (MultiWorkerMirroredStrategy) to try a cluster setup.

    python training/run_distributed.py --workers 2 -- --project ~/skies --config tiny-test

Each worker is `skysegui train ... --strategy multiworker` with its own TF_CONFIG on
localhost ports. On real machines, run the same command on each with the TF_CONFIG shown
in training/README.md instead.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("train_args", nargs=argparse.REMAINDER, help="arguments after -- go to `skysegui train`")
    args = parser.parse_args(argv)
    train_args = [a for a in args.train_args if a != "--"]
    hosts = [f"localhost:{free_port()}" for _ in range(args.workers)]
    procs = []
    for index in range(args.workers):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}})
        cmd = [sys.executable, "-m", "skysegui", "train", *train_args, "--strategy", "multiworker"]
        procs.append(subprocess.Popen(cmd, env=env))
    codes = [p.wait() for p in procs]
    print(f"worker exit codes: {codes}")
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
