"""Benchmark the API's two busiest reads under gunicorn on loopback: a student's mastery, a class grid.

Usage::

    python bench/bench_api_serving.py [--students 3000] [--seed 2026] [--store sqlite|postgresql]
        [--seconds 8] [--rate 200] [--open-seconds 10] [--grid-share 0.5] [--workers N]
        [--reads student grid] [--open-only] [--analyze] [--rebuild] [--json]
    python bench/bench_api_serving.py --profile     # where one request's time goes

About 3.5 minutes on 2 cores once the district is cached (building it: about 3 min
on SQLite, 6 on PostgreSQL). One file on purpose, like the other benches: build,
server, load, report and profile share its helpers and nothing else needs them.

The sample district at ``--students`` is generated and synced once (``connector
sample generate``, ``connector db upgrade``, ``connector sync run nightly-sync``)
and cached under ``var/bench/serving-<students>-<seed>/``; SQLite runs read a
fresh copy of the cached file, PostgreSQL runs a fresh database made from a
cached template database (``connector_bench_serving_<students>_<seed>``) on
127.0.0.1:5432 (user postgres), dropped afterwards. ``--rebuild`` builds again.

``connector serve`` (gunicorn, the production path) then runs as a child on a
free loopback port with the CLI's default worker count unless ``--workers`` says
otherwise, and the load generator, in this process, asks with the district's
shared read token (``district.api_token``, ``CEDAR_RIDGE_API_TOKEN``):

- ``GET /api/v1/districts/<key>/students/<sis_id>/mastery`` for students that
  have mastery records;
- ``GET /api/v1/districts/<key>/classes/<class_id>/mastery`` (the grid's first page,
  100 students, the API's default) for classes with students enrolled.

Closed loop: 1, 8 and 32 clients (a thread and a ``requests.Session`` each), each
asking again as soon as it has its answer, for ``--seconds`` per read after a
warm-up. Open loop: ``--rate`` requests per second on a timetable for
``--open-seconds``, the two reads mixed (``--grid-share``), each request's latency
measured from the moment it was *scheduled*, so a server that falls behind shows
its queue in the figures instead of slowing the generator down (coordinated
omission); requests still unsent 15 s after the timetable ends are failures. The
target (issue): p99 under 100 ms at 200 requests/s.

Every answer must be 200: anything else, a timeout or a refused connection is a
failure, counted and reported. The server's own time per request (gunicorn's
access log, ``%(L)s``) is reported beside the client's, which tells queueing and
client overhead from the work of the request. The load generator shares the
machine's cores with the server; each run reports the CPU seconds it and the
server used, those other processes used, and those the hypervisor stole.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import math
import os
import platform
import pstats
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "bench"
DISTRICT = "cedar-ridge"
TOKEN_VARIABLE = "CEDAR_RIDGE_API_TOKEN"
TOKEN = "bench-read-token-" + uuid.uuid4().hex
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{}"
CLIENTS = (1, 8, 32)
READS = ("student", "grid")
TARGET_MS = 100.0
#: Long enough that no request is abandoned while the server still works on it: an
#: abandoned request would load the next run.
REQUEST_TIMEOUT = 120.0
#: gunicorn's access log: '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)s' (connector/serving.py).
ACCESS = re.compile(r'"GET (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d+) (?P<bytes>\S+) '
                    r'(?P<seconds>[\d.]+)\s*$')


def connector_exe() -> str:
    return shutil.which("connector", path=str(Path(sys.executable).parent)) or "connector"


def run_cli(args: list[str], workspace: Path, url: str) -> None:
    """One ``connector`` command against the workspace's config and ``url``; raise on failure."""
    command = [connector_exe(), "--config-dir", str(workspace / "config"), "--database-url", url,
               *args]
    env = {**os.environ, TOKEN_VARIABLE: TOKEN, "CONNECTOR_DATA_DIR": str(workspace / "var")}
    done = subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


# ---- the district ---------------------------------------------------------------------


def build_files(students: int, seed: int, rebuild: bool) -> Path:
    """The cached workspace: the sample's config and generated files (no store yet)."""
    workspace = CACHE / f"serving-{students}-{seed}"
    marker = workspace / "files.json"
    if rebuild and workspace.exists():
        shutil.rmtree(workspace)
    if marker.exists():
        return workspace
    if workspace.exists():
        shutil.rmtree(workspace)  # a build that did not finish
    workspace.mkdir(parents=True)
    shutil.copytree(ROOT / "config", workspace / "config")
    subprocess.run([connector_exe(), "sample", "generate", "--students", str(students),
                    "--seed", str(seed), "--out", str(workspace / "examples" / "sample-district")],
                   check=True, capture_output=True)
    marker.write_text(json.dumps({"students": students, "seed": seed,
                                  "built": datetime.now(UTC).isoformat()}), encoding="utf-8")
    return workspace


def synced(workspace: Path, url: str, say: Callable[[str], None]) -> float:
    """Migrate ``url`` and run the first nightly sync into it; the seconds it took."""
    started = time.perf_counter()
    run_cli(["db", "upgrade"], workspace, url)
    run_cli(["sync", "run", "nightly-sync"], workspace, url)
    seconds = time.perf_counter() - started
    say(f"built the store in {seconds:.0f} s")
    return seconds


@contextmanager
def sqlite_store(workspace: Path, rebuild: bool, say: Callable[[str], None],
                 analyze: bool = False) -> Iterator[str]:
    """A fresh copy of the cached, synced SQLite store (``analyze``: ANALYZE it, a what-if)."""
    cached = workspace / "store.sqlite3"
    if rebuild or not (workspace / "store.json").exists():
        for stale in workspace.glob("store.sqlite3*"):
            stale.unlink()
        say("building the SQLite store (migrate, first sync)")
        seconds = synced(workspace, f"sqlite:///{cached}", say)
        (workspace / "store.json").write_text(json.dumps({"sync_seconds": round(seconds, 1)}),
                                              encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        copy = Path(tmp) / "store.sqlite3"
        source, target = sqlite3.connect(cached), sqlite3.connect(copy)
        with target:
            source.backup(target)
        if analyze:
            target.execute("ANALYZE")
            target.commit()
        source.close()
        target.close()
        url = f"sqlite:///{copy}"
        run_cli(["db", "upgrade"], workspace, url)  # the code may have migrations the cache lacks
        yield url


@contextmanager
def postgresql_store(workspace: Path, rebuild: bool, say: Callable[[str], None],
                     analyze: bool = False) -> Iterator[str]:
    """A fresh database copied from the cached, synced template database; dropped after.

    The copy keeps the planner statistics the sync left (``analyze`` refreshes them
    first: a what-if, not what the product does).
    """
    import psycopg

    name = f"connector_bench_serving_{workspace.name.split('-', 1)[1].replace('-', '_')}"
    building = f"{name}_building"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        have = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if rebuild or have is None:
            for stale in (name, building):
                admin.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{building}"')
            say("building the PostgreSQL store (migrate, first sync)")
            synced(workspace, PG_URL.format(building), say)
            admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        fresh = f"connector_bench_{uuid.uuid4().hex[:8]}"
        admin.execute(f'CREATE DATABASE "{fresh}" TEMPLATE "{name}"')
    try:
        url = PG_URL.format(fresh)
        run_cli(["db", "upgrade"], workspace, url)
        if analyze:
            with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={fresh}",
                                 autocommit=True) as connection:
                connection.execute("ANALYZE")
        yield url
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')


def open_store(workspace: Path, store: str, rebuild: bool, say: Callable[[str], None],
               analyze: bool) -> AbstractContextManager[str]:
    if store == "postgresql":
        return postgresql_store(workspace, rebuild, say, analyze)
    return sqlite_store(workspace, rebuild, say, analyze)


@dataclass(frozen=True)
class Targets:
    """Real ids to ask for, and how big what they return is."""

    students: list[str]
    classes: list[str]
    records_per_student: float
    students_per_class: float


def pick_targets(url: str, seed: int, count: int = 300) -> Targets:
    """Students with mastery records and classes with students, from the store itself."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        district = connection.execute(text("SELECT id FROM district WHERE key = :key"),
                                      {"key": DISTRICT}).scalar_one()
        students = connection.execute(text(
            "SELECT s.sourced_id, COUNT(r.id) FROM student s JOIN mastery_record r "
            "ON r.student_id = s.id WHERE s.district_id = :d GROUP BY s.sourced_id "
            "ORDER BY s.sourced_id"), {"d": district}).all()
        classes = connection.execute(text(
            "SELECT c.sourced_id, COUNT(e.id) FROM class_section c JOIN enrollment e "
            "ON e.district_id = c.district_id AND e.class_sourced_id = c.sourced_id "
            "AND e.role = 'student' WHERE c.district_id = :d GROUP BY c.sourced_id "
            "ORDER BY c.sourced_id"), {"d": district}).all()
    engine.dispose()
    if not students or not classes:
        raise RuntimeError(f"the store has {len(students)} students with records and "
                           f"{len(classes)} classes with students: did the sync run?")
    rng = random.Random(seed)
    chosen_students = rng.sample(students, min(count, len(students)))
    chosen_classes = rng.sample(classes, min(count, len(classes)))
    return Targets([s for s, _ in chosen_students], [c for c, _ in chosen_classes],
                   sum(n for _, n in students) / len(students),
                   sum(n for _, n in classes) / len(classes))


PLANNED = ("mastery_record", "competency", "student", "enrollment", "class_section")


def planner_statistics(url: str) -> dict[str, dict[str, int]]:
    """PostgreSQL: rows the planner believes each table has (-1: never analyzed), and has."""
    if not url.startswith("postgresql"):
        return {}
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    out = {}
    with engine.connect() as connection:
        for name in PLANNED:  # names from the tuple above, not from input
            believed = connection.execute(text(
                "SELECT reltuples FROM pg_class WHERE relname = :name AND relkind = 'r'"),
                {"name": name}).scalar_one()
            held = connection.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one()
            out[name] = {"planner_rows": int(believed), "rows": int(held)}
    engine.dispose()
    return out


# ---- the server -------------------------------------------------------------------------


def default_workers() -> int:
    """The worker count ``connector serve`` uses when not told (its ``--workers`` default)."""
    from connector.cli.commands import serve

    option = next(p for p in serve.params if p.name == "workers")
    return int(option.default)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    base: str
    log: Path
    process: subprocess.Popen[bytes]
    workers: int

    def log_offset(self) -> int:
        return self.log.stat().st_size

    def server_seconds(self, start: int, end: int) -> dict[str, list[float]]:
        """Seconds gunicorn logged per read between two log offsets."""
        with open(self.log, "rb") as handle:
            handle.seek(start)
            chunk = handle.read(end - start).decode("utf-8", "replace")
        out: dict[str, list[float]] = {read: [] for read in READS}
        for line in chunk.splitlines():
            found = ACCESS.search(line)
            if found and found["path"].endswith("/mastery"):
                read = "grid" if "/classes/" in found["path"] else "student"
                out[read].append(float(found["seconds"]))
        return out

    def problems(self) -> list[str]:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return [line for line in text.splitlines()
                if "WORKER TIMEOUT" in line or "Traceback" in line or "[ERROR]" in line]


@contextmanager
def serving(workspace: Path, url: str, workers: int | None) -> Iterator[Server]:
    """``connector serve`` (gunicorn) on a free loopback port until ``/healthz`` answers 200."""
    count = workers if workers is not None else default_workers()
    port = free_port()
    (workspace / "var").mkdir(exist_ok=True)
    log = workspace / "var" / f"serve-{port}.log"
    env = {**os.environ, TOKEN_VARIABLE: TOKEN, "CONNECTOR_DATA_DIR": str(workspace / "var"),
           "CONNECTOR_CONFIG_DIR": str(workspace / "config"), "CONNECTOR_DATABASE_URL": url}
    command = [connector_exe(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, cwd=workspace, env=env, stdout=sink,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    server = Server(base, log, process, count)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"connector serve exited ({process.returncode}):\n"
                                   f"{log.read_text(errors='replace')[-4000:]}")
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("/healthz did not answer 200 within 120 s")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- the machine -------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds the machine spent, against those the benchmark and its server spent.

    The difference is what other processes took from the cores while a run was
    measured (PostgreSQL's backends count there); ``steal`` is time the hypervisor
    gave the virtual CPUs to someone else. Figures to judge a run by. Linux only
    (``/proc``); elsewhere every figure is 0.
    """

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _machine(self) -> tuple[float, float]:
        try:
            fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        except OSError:
            return 0.0, 0.0
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
        return (user + nice + system + irq + softirq) / self.tick, steal / self.tick

    def _ours(self) -> float:
        children: dict[int, list[int]] = {}
        times: dict[int, float] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                rest = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            pid = int(stat.parent.name)
            children.setdefault(int(rest[1]), []).append(pid)
            times[pid] = (int(rest[11]) + int(rest[12])) / self.tick
        total, todo = 0.0, [self.server_pid]
        while todo:
            pid = todo.pop()
            total += times.get(pid, 0.0)
            todo += children.get(pid, [])
        mine = os.times()
        return total + mine.user + mine.system

    def reading(self) -> tuple[float, float, float]:
        return (*self._machine(), self._ours())

    def since(self, start: tuple[float, float, float]) -> dict[str, float]:
        """CPU seconds since ``start`` (a :meth:`reading`): ours, other processes', stolen."""
        busy, steal, ours = self.reading()
        mine = ours - start[2]
        return {"ours": round(mine, 1), "others": round(max(0.0, busy - start[0] - mine), 1),
                "steal": round(steal - start[1], 1)}


# ---- load ---------------------------------------------------------------------------


@dataclass
class Sample:
    """What one run measured: latencies of the successes, and every failure."""

    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    response_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, outcome: str, size: int) -> None:
        with self.lock:
            if outcome == "200":
                self.latencies.append(seconds)
                self.response_bytes += size
            else:
                self.failures[outcome] = self.failures.get(outcome, 0) + 1

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (the value at least ``p`` percent of the sample is at or under)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(sample: Sample, seconds: float) -> dict[str, Any]:
    ok = len(sample.latencies)
    return {
        "requests": ok + sample.failed, "ok": ok, "failed": sample.failed,
        "failures": dict(sample.failures),
        "p50_ms": round(1000 * percentile(sample.latencies, 50), 1),
        "p95_ms": round(1000 * percentile(sample.latencies, 95), 1),
        "p99_ms": round(1000 * percentile(sample.latencies, 99), 1),
        "max_ms": round(1000 * max(sample.latencies, default=math.nan), 1),
        "throughput_per_s": round(ok / seconds, 1) if seconds else 0.0,
        "mean_kb": round(sample.response_bytes / ok / 1024, 1) if ok else 0.0,
        "seconds": round(seconds, 1),
    }


class Reader:
    """One client's connection and the URL of each read."""

    def __init__(self, base: str, targets: Targets, seed: int) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {TOKEN}"
        self.rng = random.Random(seed)
        prefix = f"{base}/api/v1/districts/{DISTRICT}"
        self.urls = {"student": [f"{prefix}/students/{s}/mastery" for s in targets.students],
                     "grid": [f"{prefix}/classes/{c}/mastery" for c in targets.classes]}

    def ask(self, read: str) -> tuple[str, int]:
        """One request; its outcome ('200', another status, or the exception) and size."""
        try:
            answer = self.session.get(self.rng.choice(self.urls[read]), timeout=REQUEST_TIMEOUT)
            return str(answer.status_code), len(answer.content)
        except requests.RequestException as exc:
            return type(exc).__name__, 0


def warm_up(server: Server, targets: Targets, read: str, seed: int) -> None:
    """Unmeasured requests, one client per worker, for a second: settings, pools, caches."""
    readers = [Reader(server.base, targets, seed - n) for n in range(server.workers)]

    def loop(reader: Reader) -> None:
        until = time.perf_counter() + 1.0
        for count in itertools.count():
            if count >= 2 and time.perf_counter() >= until:
                break
            reader.ask(read)
        reader.session.close()

    threads = [threading.Thread(target=loop, args=(r,)) for r in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def closed_loop(server: Server, targets: Targets, read: str, clients: int, seconds: float,
                seed: int) -> dict[str, Any]:
    """``clients`` threads asking back to back; each starts its last request before ``seconds``.

    Requests in flight at the end are waited for and counted, so the slowest are not
    left out; ``throughput_per_s`` is answers over the whole time, tail included.
    """
    readers = [Reader(server.base, targets, seed * 1000 + n) for n in range(clients)]
    sample = Sample()

    def loop(reader: Reader, until: float) -> None:
        while time.perf_counter() < until:
            started = time.perf_counter()
            outcome, size = reader.ask(read)
            sample.add(time.perf_counter() - started, outcome, size)

    mark = server.log_offset()
    started = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(r, started + seconds)) for r in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    time.sleep(0.2)  # let the last access-log lines land
    own = server.server_seconds(mark, server.log_offset())[read]
    for reader in readers:
        reader.session.close()
    return {"read": read, "clients": clients, **summary(sample, elapsed),
            "server_p50_ms": round(1000 * percentile(own, 50), 1),
            "server_p99_ms": round(1000 * percentile(own, 99), 1)}


def open_loop(server: Server, targets: Targets, rate: float, seconds: float, grid_share: float,
              seed: int, senders: int = 64, grace: float = 15.0) -> dict[str, Any]:
    """``rate`` requests/s on a timetable; latency from each request's scheduled moment.

    ``senders`` threads take the next slot of the timetable, wait for its moment and
    send; when every sender is busy the next request leaves late and its lateness
    counts in its latency. Slots still unsent ``grace`` seconds after the timetable
    ends are failures ('not sent'): an overloaded server cannot stretch the run.
    """
    total = int(rate * seconds)
    mix = random.Random(seed)
    plan = ["grid" if mix.random() < grid_share else "student" for _ in range(total)]
    samples = {read: Sample() for read in READS}
    lag = Sample()
    slots = itertools.count()
    take = threading.Lock()
    mark = server.log_offset()
    start = time.perf_counter() + 0.5
    give_up = start + seconds + grace

    def send(reader: Reader) -> None:
        while True:
            with take:
                slot = next(slots)
            if slot >= total:
                return
            due = start + slot / rate
            now = time.perf_counter()
            if now < due:
                time.sleep(due - now)
            elif now > give_up:
                samples[plan[slot]].add(0.0, "not sent", 0)
                continue
            sent = time.perf_counter()
            outcome, size = reader.ask(plan[slot])
            samples[plan[slot]].add(time.perf_counter() - due, outcome, size)
            lag.add(sent - due, "200", 0)

    readers = [Reader(server.base, targets, seed * 7919 + n) for n in range(senders)]
    threads = [threading.Thread(target=send, args=(r,)) for r in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    time.sleep(0.2)
    own = server.server_seconds(mark, server.log_offset())
    for reader in readers:
        reader.session.close()
    both = Sample(latencies=samples["student"].latencies + samples["grid"].latencies,
                  failures={k: samples["student"].failures.get(k, 0)
                            + samples["grid"].failures.get(k, 0)
                            for k in {*samples["student"].failures, *samples["grid"].failures}},
                  response_bytes=samples["student"].response_bytes
                  + samples["grid"].response_bytes)
    overall = summary(both, elapsed)
    return {
        "rate_per_s": rate, "seconds_scheduled": seconds, "grid_share": grid_share,
        "senders": senders, "grace_s": grace, **overall,
        "send_lag_p99_ms": round(1000 * percentile(lag.latencies, 99), 1),
        "by_read": {read: {**summary(samples[read], elapsed),
                           "server_p50_ms": round(1000 * percentile(own[read], 50), 1),
                           "server_p99_ms": round(1000 * percentile(own[read], 99), 1)}
                    for read in READS},
        "target_p99_ms": TARGET_MS,
        "meets_target": overall["failed"] == 0 and overall["p99_ms"] < TARGET_MS,
    }


# ---- the run ---------------------------------------------------------------------------


def measure(students: int = 3000, seed: int = 2026, store: str = "sqlite", seconds: float = 8.0,
            rate: float = 200.0, open_seconds: float = 10.0, grid_share: float = 0.5,
            workers: int | None = None, rebuild: bool = False, open_only: bool = False,
            analyze: bool = False, reads: tuple[str, ...] = READS,
            say: Callable[[str], None] = print) -> dict[str, Any]:
    workspace = build_files(students, seed, rebuild)
    with open_store(workspace, store, rebuild, say, analyze) as url:
        targets = pick_targets(url, seed)
        statistics = planner_statistics(url)
        load_before = os.getloadavg()[0]
        with serving(workspace, url, workers) as server:
            say(f"connector serve: gunicorn, {server.workers} workers, {server.base} "
                f"(log {server.log})")
            meter = CpuMeter(server.process.pid)
            closed = []
            for read in READS:
                warm_up(server, targets, read, seed)
                for clients in () if open_only or read not in reads else CLIENTS:
                    before = meter.reading()
                    row = closed_loop(server, targets, read, clients, seconds, seed)
                    row["cpu_s"] = meter.since(before)
                    say(f"closed loop, {read}, {clients} clients: p50 {row['p50_ms']} ms, "
                        f"p99 {row['p99_ms']} ms, {row['throughput_per_s']}/s, "
                        f"{row['failed']} failed; CPU s {row['cpu_s']}")
                    closed.append(row)
            before = meter.reading()
            opened = open_loop(server, targets, rate, open_seconds, grid_share, seed)
            opened["cpu_s"] = meter.since(before)
            say(f"open loop, {rate:g}/s: p50 {opened['p50_ms']} ms, p99 {opened['p99_ms']} ms, "
                f"{opened['failed']} failed; CPU s {opened['cpu_s']}")
            problems = server.problems()
        load_after = os.getloadavg()[0]
    return {
        "run": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}, {platform.system()}",
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "store": store, "students": students, "seed": seed, "workers": server.workers,
        "district": {"students_asked": len(targets.students), "classes_asked":
                     len(targets.classes),
                     "records_per_student": round(targets.records_per_student, 1),
                     "students_per_class": round(targets.students_per_class, 1)},
        "analyzed_before_run": analyze, "planner_statistics": statistics,
        "closed_loop": closed, "open_loop": opened,
        "server_log_problems": problems[:20], "server_log_problem_count": len(problems),
    }


def cpu(row: dict[str, Any]) -> str:
    used = row["cpu_s"]
    return f"{used['ours']} / {used['others']} / {used['steal']}"


def markdown(result: dict[str, Any]) -> str:
    name = {"student": "Student mastery", "grid": "Class grid"}
    district = result["district"]
    lines = [
        f"{result['students']:,} students, {result['store']}, `connector serve` with "
        f"{result['workers']} gunicorn workers; {result['machine']}; {result['run']}; "
        f"load average before/after {result['load_average_1min'][0]}/"
        f"{result['load_average_1min'][1]}; {district['students_per_class']:g} students per "
        f"class, {district['records_per_student']:g} records per student.",
    ]
    if result["analyzed_before_run"] and not result["planner_statistics"]:
        lines.append("ANALYZE was run on the copy first (a what-if: the product does not).")
    if result["planner_statistics"]:
        believed = ", ".join(f"{name} {row['planner_rows']:,} of {row['rows']:,}"
                             for name, row in sorted(result["planner_statistics"].items()))
        when = "ANALYZE run first" if result["analyzed_before_run"] else "as the sync left them"
        lines.append(f"Planner statistics at the start ({when}), rows believed of rows held: "
                     f"{believed}.")
    if result["closed_loop"]:
        lines += ["", "| Read | Clients | Requests | Failed | p50 ms | p95 ms | p99 ms "
                      "| Requests/s | Server p50 / p99 ms | KB | CPU s: ours / others / stolen |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in result["closed_loop"]:
        lines.append(f"| {name[row['read']]} | {row['clients']} | {row['requests']} | "
                     f"{row['failed']} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | "
                     f"{row['throughput_per_s']} | {row['server_p50_ms']} / "
                     f"{row['server_p99_ms']} | {row['mean_kb']} | {cpu(row)} |")
    opened = result["open_loop"]
    lines += ["", f"Open loop, {opened['rate_per_s']:g} requests/s scheduled for "
                  f"{opened['seconds_scheduled']:g} s, {opened['grid_share']:.0%} grids "
                  f"(CPU s ours / others / stolen: {cpu(opened)}):", "",
              "| Read | Requests | Failed | p50 ms | p95 ms | p99 ms | Achieved/s "
              "| Server p50 / p99 ms |",
              "|---|---|---|---|---|---|---|---|"]
    for read in READS:
        row = opened["by_read"][read]
        if not row["requests"]:
            continue
        lines.append(f"| {name[read]} | {row['requests']} | {row['failed']} | {row['p50_ms']} | "
                     f"{row['p95_ms']} | {row['p99_ms']} | {row['throughput_per_s']} | "
                     f"{row['server_p50_ms']} / {row['server_p99_ms']} |")
    verdict = "met" if opened["meets_target"] else "**missed**"
    lines.append(f"| Both | {opened['requests']} | {opened['failed']} | {opened['p50_ms']} | "
                 f"{opened['p95_ms']} | {opened['p99_ms']} | {opened['throughput_per_s']} | |")
    lines += ["", f"Target p99 < {opened['target_p99_ms']:g} ms at {opened['rate_per_s']:g}/s: "
                  f"{verdict} (p99 {opened['p99_ms']} ms, {opened['failed']} failed)."]
    if result["server_log_problem_count"]:
        lines.append(f"Server log: {result['server_log_problem_count']} problem lines, first: "
                     f"{result['server_log_problems'][0]}")
    return "\n".join(lines)


# ---- where one request's time goes ------------------------------------------------------


def profile(students: int, seed: int, store: str, rebuild: bool, analyze: bool = False,
            repeat: int = 20) -> str:
    """cProfile of ``repeat`` requests of each read through Flask's test client."""
    workspace = build_files(students, seed, rebuild)
    out = io.StringIO()
    with open_store(workspace, store, rebuild, print, analyze) as url:
        targets = pick_targets(url, seed)
        os.environ[TOKEN_VARIABLE] = TOKEN
        os.environ.setdefault("CONNECTOR_SECRET_KEY", "bench-only-" + uuid.uuid4().hex * 2)
        from connector.app import create_app

        app = create_app({"CONNECTOR_CONFIG_DIR": str(workspace / "config"),
                          "CONNECTOR_DATABASE_URL": url})
        client = app.test_client()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        prefix = f"/api/v1/districts/{DISTRICT}"
        paths = {"student": [f"{prefix}/students/{s}/mastery" for s in targets.students],
                 "grid": [f"{prefix}/classes/{c}/mastery" for c in targets.classes]}
        for read in READS:
            for path in paths[read][:3]:  # warm: settings, connections, caches
                assert client.get(path, headers=headers).status_code == 200
            chosen = paths[read][3:3 + repeat]
            started = time.perf_counter()
            profiler = cProfile.Profile()
            profiler.enable()
            for path in chosen:
                answer = client.get(path, headers=headers)
                assert answer.status_code == 200, answer.status_code
            profiler.disable()
            each = 1000 * (time.perf_counter() - started) / len(chosen)
            out.write(f"\n== {read}: {len(chosen)} requests, {each:.1f} ms each under the "
                      f"profiler ==\n")
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(35)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="seconds each closed-loop run starts requests for")
    parser.add_argument("--rate", type=float, default=200.0,
                        help="open loop: requests per second")
    parser.add_argument("--open-seconds", type=float, default=10.0,
                        help="open loop: seconds of timetable")
    parser.add_argument("--grid-share", type=float, default=0.5,
                        help="open loop: share of class grid reads")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: what `connector serve` chooses)")
    parser.add_argument("--reads", nargs="+", choices=READS, default=list(READS),
                        help="closed loop: only these reads")
    parser.add_argument("--open-only", action="store_true", help="skip the closed-loop runs")
    parser.add_argument("--rebuild", action="store_true", help="build the cached district again")
    parser.add_argument("--analyze", action="store_true",
                        help="ANALYZE the fresh copy first (a what-if: the product does not)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--profile", action="store_true",
                        help="profile requests through Flask's test client instead")
    args = parser.parse_args()
    if args.profile:
        print(profile(args.students, args.seed, args.store, args.rebuild, args.analyze))
        return
    quiet = args.json

    def say(line: str) -> None:
        print(line, file=sys.stderr if quiet else sys.stdout, flush=True)

    result = measure(args.students, args.seed, args.store, args.seconds, args.rate,
                     args.open_seconds, args.grid_share, args.workers, args.rebuild,
                     args.open_only, args.analyze, tuple(args.reads), say)
    print(json.dumps(result, indent=2) if args.json else "\n" + markdown(result))


if __name__ == "__main__":
    main()
