"""How long ``connector --version`` and ``connector --help`` take, start to exit.

Issue 13's target: under 0.3 s, because a scheduler wrapper, a monitoring probe
or a person typing ``--help`` should not wait for SQLAlchemy, Flask and
ReportLab to import. Commands import what they need only when they run.

    python bench/bench_cli_startup.py [runs]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (["--version"], ["--help"], ["runs", "--help"], ["config", "validate"])


def measure(runs: int = 15) -> list[tuple[str, str]]:
    exe = shutil.which("connector", path=str(Path(sys.executable).parent)) or "connector"
    rows = []
    for args in COMMANDS:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([exe, *args], capture_output=True, check=False)
            times.append(time.perf_counter() - started)
        rows.append((f"`connector {' '.join(args)}`, median of {runs}",
                     f"{statistics.median(times):.3f} s (fastest {min(times):.3f} s)"))
    return rows


if __name__ == "__main__":
    for name, value in measure(int(sys.argv[1]) if len(sys.argv) > 1 else 15):
        print(f"| {name} | {value} |")
