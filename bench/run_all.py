"""Run every benchmark and write the results to docs/benchmarks.md (``make bench``)."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sync
import bench_transcripts

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def main() -> None:
    rows = bench_transcripts.measure(count=200, processes=2)
    rows += bench_sync.measure([150, 1000, 3000])
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, Python "
               f"{platform.python_version()}, {platform.system()}")
    lines = [
        "# Benchmarks",
        "",
        "Measured with `make bench` (`bench/run_all.py`); numbers are wall-clock on the machine",
        "named below and move by 10-20% between runs on a shared machine. Targets come from the",
        "issues: at least 40 transcripts per second on 2 cores.",
        "",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine}.",
        "",
        "| Measure | Result |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in rows],
        "",
    ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
