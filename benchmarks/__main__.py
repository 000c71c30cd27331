"""Run every benchmarks/bench_*.py (or those named on the command line) and print one table.

Each benchmark runs in its own subprocess so peak-memory figures do not mix.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from benchmarks._table import Row, format_table

HERE = Path(__file__).resolve().parent


def _names(selected: list[str]) -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_"))
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    return names


def _run_one(name: str) -> list[Row]:
    module = importlib.import_module(f"benchmarks.{name}")
    return module.run()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        rows = _run_one(argv[1])
        print("BENCH-JSON " + json.dumps([asdict(r) for r in rows]))
        return 0
    rows: list[Row] = []
    for name in _names(argv):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks", "--one", name],
            cwd=HERE.parent, capture_output=True, text=True,
        )
        found = [line for line in proc.stdout.splitlines() if line.startswith("BENCH-JSON ")]
        if proc.returncode != 0 or not found:
            print(proc.stderr[-2000:], file=sys.stderr)
            rows.append(Row(name, "FAILED", float("nan"), ""))
            continue
        rows += [Row(**d) for d in json.loads(found[-1][len("BENCH-JSON "):])]
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
