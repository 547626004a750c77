"""Crash trials: SIGKILL a nightly sync at random moments, rerun it, and compare with a clean run.

For each trial a fresh store and output folder get ``connector sync run nightly-sync``,
killed with SIGKILL (no cleanup code runs) at a moment drawn uniformly over the length
of a clean run, so kills land in staging, mapping, evidence, mastery and the push
alike. The same command then runs to its end. The trial compares what the district
ends with against the clean run:

- **records**: every mastery record (student, competency, state, level, score) and
  every piece of evidence (score id, competency, value);
- **the SIS's view**: the result each sourcedId holds once the SIS has imported every
  visible bundle in order (a bulk bundle replaces, a delta upserts), and how many
  result rows were sent more than once.

It reports lost, extra (duplicated) and different rows: the target is 0 / 0 / 0.

    python bench/crash_trials.py --store sqlite --trials 100
    python bench/crash_trials.py --store postgresql --trials 100   # 127.0.0.1:5432, postgres
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
RECORDS = sa.text("""
    select s.sourced_id, c.identifier, r.state, coalesce(r.level_code, ''),
           coalesce(cast(r.score as varchar), '')
    from mastery_record r join student s on s.id = r.student_id
    join competency c on c.id = r.competency_id""")
EVIDENCE = sa.text("""
    select rs.source_system, rs.sourced_id, c.identifier, cast(e.value as varchar)
    from evidence e join raw_score rs on rs.id = e.raw_score_id
    join competency c on c.id = e.competency_id""")


def _connector(workspace: Path, url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "connector.cli.main", "--config-dir", str(workspace / "config"),
            "--database-url", url, *args]


class Store:
    """A fresh, empty database for one trial."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind, self.folder = kind, folder
        self.name = f"crash_{uuid.uuid4().hex[:10]}"
        if kind == "sqlite":
            self.url = f"sqlite:///{folder / (self.name + '.sqlite3')}"
        else:
            admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                                     isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
            admin.dispose()
            self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"

    def drop(self) -> None:
        if self.kind == "sqlite":
            for path in self.folder.glob(self.name + ".sqlite3*"):
                path.unlink()
            return
        admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        admin.dispose()


def _views(workspace: Path, url: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        records = {tuple(row[:2]): tuple(row[2:]) for row in connection.execute(RECORDS)}
        evidence = {tuple(row[:3]): row[3] for row in connection.execute(EVIDENCE)}
    engine.dispose()
    sis: dict[str, tuple[str, ...]] = {}
    sent: Counter[tuple[str, tuple[str, ...]]] = Counter()
    folder = workspace / "out" / "oneroster" / "sis-results"
    for bundle in sorted(folder.glob("*.zip")) if folder.exists() else []:
        with zipfile.ZipFile(bundle) as archive:
            rows = list(csv.DictReader(io.StringIO(archive.read("results.csv").decode())))
        if bundle.name.endswith("-bulk.zip"):
            sis = {}
        for row in rows:
            value = (row["score"], row["textScore"], row["scoreStatus"])
            sis[row["sourcedId"]] = value
            sent[(row["sourcedId"], value)] += 1
    return {"records": records, "evidence": evidence, "sis": sis,
            "sent_twice": sum(n - 1 for n in sent.values() if n > 1)}


def _compare(want: dict[Any, Any], got: dict[Any, Any]) -> tuple[int, int, int]:
    lost = sum(1 for k in want if k not in got)
    extra = sum(1 for k in got if k not in want)
    different = sum(1 for k in want if k in got and got[k] != want[k])
    return lost, extra, different


def _run(workspace: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_connector(workspace, url, *args), cwd=workspace, text=True,
                          capture_output=True, timeout=900, check=False)


def _fresh(base: Path, kind: str) -> tuple[Path, Store]:
    workspace = base / "workspace"
    shutil.rmtree(workspace / "out", ignore_errors=True)
    shutil.rmtree(workspace / "var", ignore_errors=True)
    store = Store(kind, base)
    upgraded = _run(workspace, store.url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    return workspace, store


def trials(kind: str, count: int, seed: int) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="crash-trials-"))
    workspace = base / "workspace"
    shutil.copytree(ROOT / "config", workspace / "config")
    (workspace / "examples").symlink_to(ROOT / "examples")
    workspace, store = _fresh(base, kind)
    started = time.perf_counter()
    clean = _run(workspace, store.url, "sync", "run", "nightly-sync")
    length = time.perf_counter() - started
    assert clean.returncode in (0, 1), clean.stderr
    reference = _views(workspace, store.url)
    store.drop()
    draw = random.Random(seed)
    totals = Counter[str]()
    for trial in range(count):
        workspace, store = _fresh(base, kind)
        at = draw.uniform(0.2, length)
        with subprocess.Popen(_connector(workspace, store.url, "sync", "run", "nightly-sync"),
                              cwd=workspace, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) as process:
            try:
                process.wait(timeout=at)
                totals["finished_before_the_kill"] += 1
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
        rerun = _run(workspace, store.url, "sync", "run", "nightly-sync")
        if rerun.returncode not in (0, 1):
            totals["reruns_failed"] += 1
        got = _views(workspace, store.url)
        for view in ("records", "evidence", "sis"):
            lost, extra, different = _compare(reference[view], got[view])
            totals[f"{view}_lost"] += lost
            totals[f"{view}_extra"] += extra
            totals[f"{view}_different"] += different
        totals["sis_sent_twice"] += got["sent_twice"]
        store.drop()
        print(f"trial {trial + 1}/{count}: killed at {at:.1f} s of {length:.1f} s", flush=True)
    shutil.rmtree(base, ignore_errors=True)
    return {"store": kind, "trials": count, "clean_run_s": round(length, 1),
            "records": len(reference["records"]), "evidence": len(reference["evidence"]),
            "sis_results": len(reference["sis"]), **dict(totals)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    print(trials(args.store, args.trials, args.seed))


if __name__ == "__main__":
    main()
