"""Benchmark streaming one very large vendor export through a drop folder.

Usage::

    python bench/bench_file_drop.py [--rows 10000000] [--students 5000] [--skills 2000]

An IXL-style skill report of ``--rows`` rows (the generator of the test suite,
written as it is generated) is dropped into an inbox; a fresh child process
runs the ``file_drop`` source over it exactly as a sync does: it hashes the
file, reads every row through the vendor profile into canonical records,
yields the checkpoint, and archives the file with its report. The parent
reports rows per second and the child's peak resident memory (``ru_maxrss``),
which must stay at most 300 MB whatever the file's size.

Staging into the database is not part of this figure: the sync runner commits
records in batches of 1,000 as they stream, so the file's size never reaches
memory there either; its rate is the sync benchmark's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.adapters.base import AdapterContext, Checkpoint, Envelope  # noqa: E402
from connector.adapters.sources.file_drop import FileDropSource  # noqa: E402
from connector.adapters.vendor_profiles import shipped_profiles  # noqa: E402
from connector.errors import Rejection  # noqa: E402
from connector.sample.vendor_exports import SampleSkill, write  # noqa: E402

PROFILE = "ixl-skill-scores"
LIMIT_MB = 300


def make_file(path: Path, rows: int, students: int, skills: int) -> float:
    started = time.perf_counter()
    ids = [f"S{n:07d}" for n in range(students)]
    catalogue = [SampleSkill(f"{chr(65 + n % 26)}.{n}", f"Skill {n}", f"6.RP.A.{n % 4}")
                 for n in range(skills)]
    write(path, shipped_profiles()[PROFILE], ids, catalogue, rows)
    return time.perf_counter() - started


def read_all(inbox: Path) -> dict[str, Any]:
    """Run in the child: the source over the inbox, records counted and dropped."""
    source = FileDropSource("ixl", FileDropSource.options_schema().load(
        {"profile": PROFILE, "inbox": str(inbox), "settle_seconds": 0}),
        AdapterContext(Path, "America/Denver"))
    counts = {"scores": 0, "items": 0, "rejections": 0, "checkpoints": 0}
    started = time.perf_counter()
    for entry in source.read():
        if isinstance(entry, Envelope):
            counts["items" if entry.record.__class__.__name__ == "SourceItem" else "scores"] += 1
        elif isinstance(entry, Rejection):
            counts["rejections"] += 1
        elif isinstance(entry, Checkpoint):
            counts["checkpoints"] += 1
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {**counts, "seconds": round(elapsed, 1), "peak_rss_mb": round(peak_kb / 1024, 1)}


def measure(rows: int = 10_000_000, students: int = 5000, skills: int = 2000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp) / "inbox"
        inbox.mkdir()
        path = inbox / "ixl-skill-scores.csv"
        generated = make_file(path, rows, students, skills)
        size = path.stat().st_size
        os.utime(path, (time.time() - 60, time.time() - 60))
        child = subprocess.run([sys.executable, __file__, "--child", str(inbox)],
                               capture_output=True, text=True, check=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
        reports = list((inbox / "archive").glob("*.report.json"))
        outcome = json.loads(reports[0].read_text())["outcome"] if reports else "missing"
    return {"rows": rows, "file_mb": round(size / 1e6, 1), "generate_s": round(generated, 1),
            **result, "rows_per_s": round(rows / result["seconds"]), "outcome": outcome,
            "within_limit": result["peak_rss_mb"] <= LIMIT_MB}


SYNC_SOURCE = """
  - key: ixl
    kind: file_drop
    name: IXL skill scores (benchmark)
    profile: ixl-skill-scores
    inbox: drops/ixl
    settle_seconds: 0
"""
SYNC_JOB = """
  - key: vendor-drops
    kind: sync
    frameworks: [dok, math-ela, habits]
    sources: [ixl]
"""


def sync_workspace(folder: Path, rows: int, skills: int) -> Path:
    """The sample district with an IXL drop source; the roster synced; a big export waiting."""
    import re

    shutil.copytree(ROOT / "config", folder / "config")
    (folder / "examples").symlink_to(ROOT / "examples")
    config = folder / "config" / "districts" / "cedar-ridge"
    text = (config / "sources.yaml").read_text(encoding="utf-8")
    (config / "sources.yaml").write_text(text.replace("\ncrosswalks:", SYNC_SOURCE + "\ncrosswalks:"),
                                         encoding="utf-8")
    with open(config / "jobs.yaml", "a", encoding="utf-8") as handle:
        handle.write(SYNC_JOB)
    package = json.loads((ROOT / "examples" / "sample-district" / "case" /
                          "cedar-ridge-math-ela.json").read_text(encoding="utf-8"))
    codes = sorted(i["humanCodingScheme"] for i in package["CFItems"]
                   if re.match(r"^CR\.(MA|ELA)\.[A-Z]+\.\d\.[a-z]$", i.get("humanCodingScheme", "")))
    with open(ROOT / "examples" / "sample-district" / "oneroster" / "users.csv",
              encoding="utf-8") as handle:
        students = [line.split(",", 1)[0] for line in handle if line.startswith("S1")]
    catalogue = [SampleSkill(f"IXL.{n}", f"Skill {n}", codes[n % len(codes)])
                 for n in range(skills)]
    path = folder / "drops" / "ixl" / "ixl-skill-scores.csv"
    write(path, shipped_profiles()[PROFILE], students, catalogue, rows)
    os.utime(path, (time.time() - 60, time.time() - 60))
    return folder


def sync_child(workspace: Path, url: str) -> dict[str, Any]:
    """Run in the child: the vendor job over the waiting export, on an already rostered store."""
    from connector.config.loader import load_settings
    from connector.jobs import definitions
    from connector.persistence.db import make_engine, make_session_factory

    factory = make_session_factory(make_engine(url))
    settings = load_settings(workspace / "config")
    started = time.perf_counter()
    report = definitions.run(factory, settings, "vendor-drops")
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": round(elapsed, 1), "peak_rss_mb": round(peak_kb / 1024, 1),
            "errors": report.errors, "evidence": report.evidence,
            "mastery_recomputed": report.mastery.get("recomputed"),
            "timings": report.timings}


def measure_sync(rows: int, skills: int) -> dict[str, Any]:
    from connector.config.loader import load_settings
    from connector.jobs import definitions
    from connector.persistence.db import make_engine, make_session_factory, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        workspace = sync_workspace(Path(tmp), rows, skills)
        url = f"sqlite:///{tmp}/bench.sqlite3"
        engine = make_engine(url)
        upgrade(engine)
        definitions.run(make_session_factory(engine), load_settings(workspace / "config"),
                        "nightly-sync")
        engine.dispose()
        probe = os.environ.get("BENCH_SYNC_CHILD", __file__)  # a memory probe may stand in
        child = subprocess.run([sys.executable, probe, "--sync-child", str(workspace), url],
                               capture_output=True, text=True, check=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
    return {"rows": rows, **result, "rows_per_s": round(rows / result["seconds"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--skills", type=int, default=2000)
    parser.add_argument("--sync", action="store_true",
                        help="measure a whole sync of the sample district over the export")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sync-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(read_all(args.child)))
        return
    if args.sync_child:
        print(json.dumps(sync_child(Path(args.sync_child[0]), args.sync_child[1]), default=str))
        return
    if args.sync:
        print(json.dumps(measure_sync(args.rows, args.skills), indent=2, default=str))
        return
    print(json.dumps(measure(args.rows, args.students, args.skills), indent=2))


if __name__ == "__main__":
    main()
