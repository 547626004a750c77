"""Run every benchmark and write the results to docs/benchmarks.md (``make bench``)."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_mastery
import bench_sync
import bench_transcripts

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"

NOTES = [
    "## Notes",
    "",
    "- Transcripts: the goal (40/s on 2 cores) is met by the renderer alone; end to end,",
    "  `connector transcripts generate --all` for the 150-student sample (database queries,",
    "  PDF and HTML, process start-up) took 3.0 s, about 50 transcripts/s.",
    "- PostgreSQL after a first bulk load: before statistics were refreshed during loads",
    "  (`sync/runner.py`, `_refresh_statistics`), the 1,000-student first sync took 496 s",
    "  (107 scores/s) because the planner still treated the new tables as empty. With it,",
    "  50 s. At 3,000 students PostgreSQL is still slower per score than SQLite (551/s vs",
    "  2,180/s); that growth is not profiled yet. Staging and evidence go through the ORM",
    "  row by row; set-based staging (COPY / INSERT ... ON CONFLICT) is the likely fix, for the",
    "  scale-out issue. SQLite stays linear.",
    "- A rerun with no changes reads every input again and compares content hashes; it",
    "  writes nothing.",
    "",
]


def main() -> None:
    rows = bench_transcripts.measure(count=200, processes=2)
    rows += bench_sync.measure([150, 1000, 3000])
    rows += bench_mastery.measure(students=25_000, competencies=40, per_pair=10)
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, Python "
               f"{platform.python_version()}, {platform.system()}")
    lines = [
        "# Benchmarks",
        "",
        "Measured with `make bench` (`bench/run_all.py`); numbers are wall-clock on the machine",
        "named below and move by 10-20% between runs on a shared machine. Targets come from the",
        "issues: at least 40 transcripts per second on 2 cores; for the mastery engine on a",
        "25,000-student district (10 million pieces of evidence), compute within 3x of DuckDB,",
        "a full recompute within 30 s on SQLite, a 1% change within 2% of that.",
        "",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine}.",
        "",
        "| Measure | Result |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in rows],
        "",
        *NOTES,
    ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
