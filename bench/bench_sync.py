"""Benchmark a full sync of the sample district at several sizes, on SQLite and PostgreSQL.

Usage::

    python bench/bench_sync.py [--students 150 1000 3000] [--no-postgres]

For each size: generate the sample (same framework, more students), run the
nightly sync once (everything new) and again (nothing changed), and report
wall time and raw scores per second. PostgreSQL is used at 127.0.0.1:5432
(user postgres) in a throwaway database.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from connector.config.loader import load_settings
from connector.jobs import definitions
from connector.persistence.db import make_engine, make_session_factory, upgrade
from connector.sample.generator import generate

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


def _workspace(folder: Path, students: int) -> Path:
    """The sample config pointing at a generated sample of ``students`` students."""
    shutil.copytree(ROOT / "config", folder / "config")
    generate(folder / "examples" / "sample-district", students=students, seed=2026)
    return folder


def _one(url: str, workspace: Path) -> tuple[float, float, int]:
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    settings = load_settings(workspace / "config")
    started = time.perf_counter()
    first = definitions.run(factory, settings, "nightly-sync")
    middle = time.perf_counter()
    second = definitions.run(factory, settings, "nightly-sync")
    ended = time.perf_counter()
    engine.dispose()
    assert not first.errors and second.changes == 0, (first.errors, second.changes)
    scores = sum(s.get("scores", {}).get("read", 0) for s in first.sources.values())
    print("  first sync's stages (s):", ", ".join(
        f"{name} {took:.1f}" for name, took in first.timings.items() if took >= 0.5))
    return middle - started, ended - middle, scores


def measure(sizes: list[int], postgres: bool = True) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for students in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            workspace = _workspace(Path(tmp), students)
            backends = [("SQLite", f"sqlite:///{tmp}/bench.sqlite3")]
            database = f"connector_bench_{uuid.uuid4().hex[:8]}"
            if postgres:
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{database}"')
                backends.append(("PostgreSQL",
                                 f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"))
            try:
                for name, url in backends:
                    first, second, scores = _one(url, workspace)
                    line = (f"{students} students, {name}: first sync {first:.1f} s "
                            f"({scores / first:.0f} scores/s), rerun {second:.1f} s")
                    print(line)
                    rows.append((f"Sync, {students} students, {name}",
                                 f"first {first:.1f} s ({scores} scores, {scores / first:.0f}/s); "
                                 f"rerun with no changes {second:.1f} s"))
            finally:
                if postgres:
                    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[150, 1000])
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    measure(args.students, postgres=not args.no_postgres)


if __name__ == "__main__":
    main()
