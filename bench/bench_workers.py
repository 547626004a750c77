"""Benchmark Celery workers: a consortium's nightly syncs through 1 and then 2 workers.

Usage::

    python bench/bench_workers.py [--districts 20] [--students 1000] [--workers 1 2]

Builds a configuration root of ``--districts`` districts, each the sample
district under its own key (its own tenant in the store, its own output folder),
reading one generated sample of ``--students`` students. Then, for each worker
count: a fresh PostgreSQL database (127.0.0.1:5432, user postgres), that many
``connector worker`` processes on RabbitMQ (127.0.0.1:5672, guest), one queued
nightly-sync run per district sent the way the scheduler sends them, and the
clock until every run has ended. It reports the wall time, scores per second
over all districts, and each district's time from being sent to being done.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import select

from connector.config.loader import load_settings
from connector.jobs.dispatch import mark_sent
from connector.jobs.workers import Sender
from connector.persistence import models as m
from connector.persistence.db import make_engine, make_session_factory, upgrade
from connector.persistence.tenancy import tenant_session
from connector.sample.generator import generate
from connector.sync.district import ensure_district
from connector.sync.report import FINAL
from connector.sync.run_requests import request_run

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
BROKER = os.environ.get("CONNECTOR_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
JOB = "nightly-sync"


def consortium(folder: Path, districts: int, students: int) -> list[str]:
    """A configuration root of ``districts`` copies of the sample district; their keys."""
    sample = folder / "examples" / "sample"
    generate(sample, students=students, seed=2026)
    keys = []
    for number in range(1, districts + 1):
        key = f"district-{number:02d}"
        target = folder / "config" / "districts" / key
        shutil.copytree(ROOT / "config" / "districts" / "cedar-ridge", target)
        for path in target.glob("*.yaml"):
            text = path.read_text(encoding="utf-8")
            text = text.replace("examples/sample-district/", "examples/sample/")
            text = re.sub(r"\bout/", f"out/{key}/", text)
            if path.name == "district.yaml":
                text = text.replace("key: cedar-ridge", f"key: {key}", 1)
            path.write_text(text, encoding="utf-8")
        keys.append(key)
    return keys


def one(folder: Path, keys: list[str], workers: int) -> dict[str, float]:
    database = f"connector_bench_workers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    queue = f"connector-bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(folder / "config"),
           "CONNECTOR_DATABASE_URL": url, "CONNECTOR_BROKER_URL": BROKER,
           "CONNECTOR_BROKER_QUEUE": queue}
    processes = [subprocess.Popen([sys.executable, "-m", "connector.cli.main", "worker",
                                   "--name", f"bench-{n}"], cwd=folder, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for n in range(workers)]
    try:
        time.sleep(5)  # the workers connect and declare the queue
        send = Sender(BROKER, queue)
        runs: dict[str, tuple[int, int]] = {}
        started = time.perf_counter()
        for key in keys:
            settings = load_settings(folder / "config", key)
            district_id = ensure_district(factory, settings.district)
            with tenant_session(factory, district_id) as session, session.begin():
                run_id, _ = request_run(session, settings, JOB, by="bench")
            send(key, JOB, run_id)
            mark_sent(factory, district_id, run_id)
            runs[key] = (district_id, run_id)
        done: dict[str, float] = {}
        scores = 0
        while len(done) < len(keys):
            time.sleep(1.0)
            for key, (district_id, run_id) in runs.items():
                if key in done:
                    continue
                with tenant_session(factory, district_id) as session:
                    run = session.scalar(select(m.SyncRun).where(m.SyncRun.id == run_id))
                    if run is not None and run.status in FINAL:
                        assert run.status.startswith("succeeded"), (key, run.message)
                        done[key] = time.perf_counter() - started
                        scores += sum(s.get("scores", {}).get("read", 0)
                                      for s in run.counts.get("sources", {}).values())
        wall = time.perf_counter() - started
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            size = conn.execute("SELECT pg_database_size(%s)", (database,)).fetchone()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
        engine.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    times = sorted(done.values())
    return {"wall": wall, "scores": scores, "first": times[0], "median": statistics.median(times),
            "last": times[-1], "megabytes": (size[0] if size else 0) / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--districts", type=int, default=20)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        keys = consortium(Path(tmp), args.districts, args.students)
        for workers in args.workers:
            result = one(Path(tmp), keys, workers)
            print(f"{args.districts} districts x {args.students} students, {workers} "
                  f"worker(s): {result['wall']:.0f} s, {result['scores'] / result['wall']:.0f} "
                  f"scores/s; a district done after {result['first']:.0f} s (first), "
                  f"{result['median']:.0f} s (median), {result['last']:.0f} s (last); "
                  f"database {result['megabytes']:.0f} MB",
                  flush=True)


if __name__ == "__main__":
    main()
