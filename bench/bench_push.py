"""Benchmark pushing mastery results to a OneRoster 1.2 gradebook API.

Usage::

    python bench/bench_push.py [--results 100000] [--concurrency 4] [--batch 200]

A synthetic district (classes x competencies x students = results) is pushed to
the fake OneRoster provider of the test suite, running in its own process (so
server and client do not share an interpreter), through the real engine
(``connector.sync.safe_push.send``): a before-image read, the write, a read back
and the audit trail in SQLite for every record. Timed twice: the first push
(every record created) and a second push after every result changed (every
record updated over an existing one). Requests are counted by the server.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.adapters.base import (  # noqa: E402
    AdapterContext,
    OutboundLineItem,
    OutboundResult,
    PushPlan,
)
from connector.adapters.destinations.oneroster_rest.destination import (  # noqa: E402
    OneRosterRestDestination,
    OneRosterRestOptions,
)
from connector.config.loader import load_settings  # noqa: E402
from connector.config.secrets import resolve_secret  # noqa: E402
from connector.persistence.db import make_engine, make_session_factory, upgrade  # noqa: E402
from connector.persistence.tenancy import tenant_session  # noqa: E402
from connector.sync import safe_push  # noqa: E402
from connector.sync.district import ensure_district  # noqa: E402
from connector.sync.push_diff import diff  # noqa: E402

STUDENTS_PER_CLASS = 25
COMPETENCIES_PER_CLASS = 10


def _serve(port_queue: Any, classes: int) -> None:
    """The fake provider in a child process, seeded with the synthetic roster."""
    from flask import jsonify

    from tests.fakes.oneroster_server import ALL_SCOPES, FakeOneRoster
    from tests.fakes.server import serve

    fake = FakeOneRoster(clients={"bench": ("bench-secret", ALL_SCOPES)})
    fake.load("orgs", [{"sourcedId": "school-1", "status": "active", "name": "School",
                        "type": "school"}])
    fake.load("classes", [{"sourcedId": f"class-{c}", "status": "active"}
                          for c in range(classes)])
    fake.load("users", [{"sourcedId": f"student-{c}-{s}", "status": "active"}
                        for c in range(classes) for s in range(STUDENTS_PER_CLASS)])

    @fake.app.get("/_stats")
    def stats() -> Any:
        with fake.lock:
            by_method: dict[str, int] = {}
            for call in fake.calls:
                by_method[call.method] = by_method.get(call.method, 0) + 1
            return jsonify(by_method)

    with serve(fake.app) as url:
        port_queue.put(url)
        while True:
            time.sleep(3600)


def results(classes: int, generation: int) -> list[OutboundResult]:
    out = []
    moment = datetime(2026, 1, 15, 17, 0, tzinfo=UTC)
    for c in range(classes):
        for k in range(COMPETENCIES_PER_CLASS):
            competency = f"00000000-0000-4000-8000-{k:012d}"
            item = OutboundLineItem(
                sourced_id=f"li-{c}-{k}", title=f"Competency {k}", description="A competency",
                class_sourced_id=f"class-{c}", school_sourced_id="school-1",
                academic_session_sourced_id="", competency_identifier=competency,
                result_value_min=1, result_value_max=4, assign_date=moment, due_date=moment,
                competency_code=f"C.{k}", course_code="C", term_title="Year",
                term_school_year="2026")
            for s in range(STUDENTS_PER_CLASS):
                level = 1 + (c + k + s + generation) % 4
                out.append(OutboundResult(
                    record_key=f"{c}|{k}|{s}", sourced_id=f"res-{c}-{k}-{s}", line_item=item,
                    student_sourced_id=f"student-{c}-{s}", score=float(level),
                    text_score=["Beginning", "Developing", "Proficient", "Advanced"][level - 1],
                    score_status="fully graded", score_date=moment, comment="",
                    payload_hash="", level_code=str(level), state="level",
                    enrollment_begin=date(2025, 8, 25)))
    return out


def measure(count: int = 100_000, concurrency: int = 4, batch: int = 200,
            on_row: Any = None) -> list[dict[str, Any]]:
    """Both passes; ``on_row`` sees each row as soon as its pass ends (a pass can take minutes)."""
    classes = max(1, count // (STUDENTS_PER_CLASS * COMPETENCIES_PER_CLASS))
    os.environ["BENCH_ID"], os.environ["BENCH_SECRET"] = "bench", "bench-secret"
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    server = ctx.Process(target=_serve, args=(queue, classes), daemon=True)
    server.start()
    url = queue.get(timeout=120)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{folder}/bench.sqlite3")
            upgrade(engine)
            factory = make_session_factory(engine)
            settings = load_settings(ROOT / "config")
            district = ensure_district(factory, settings.district)
            options = OneRosterRestOptions().load({
                "base_url": url, "client_id": "${BENCH_ID}", "client_secret": "${BENCH_SECRET}",
                "concurrency": concurrency, "batch_size": batch})
            adapter = OneRosterRestDestination("bench-api", options, AdapterContext(
                lambda p: Path(p), "UTC", lambda ref, why: resolve_secret(ref, purpose=why)))
            context = safe_push.push_context(settings)
            ledger: dict[str, Any] = {}
            for generation, label in ((0, "first push: every record created"),
                                      (1, "every result changed: every record updated")):
                wanted = adapter.desired(PushPlan("bench-api", results(classes, generation),
                                                  first_push=generation == 0), context)
                changes = diff(wanted, ledger)
                before = _stats(url)
                started = time.perf_counter()
                report = safe_push.send(factory, district, adapter, changes, actor="bench")
                seconds = time.perf_counter() - started
                after = _stats(url)
                requests = sum(after.values()) - sum(before.values()) - 1  # the /_stats call
                assert report.status == "completed", report.problems[:3]
                with tenant_session(factory, district) as session:
                    ledger = safe_push.ledger(session, "bench-api")
                records = len(changes.changes)
                result_count = sum(1 for c in changes.changes if c.resource == "results")
                rows.append({
                    "case": label, "records": records, "results": result_count,
                    "seconds": round(seconds, 1), "records_per_s": round(records / seconds),
                    "requests": requests, "requests_per_s": round(requests / seconds),
                    "requests_per_record": round(requests / records, 2),
                    "s_per_1000": round(1000 * seconds / records, 2),
                    "concurrency": concurrency, "batch": batch,
                })
                if on_row is not None:
                    on_row(rows[-1])
    finally:
        server.terminate()
    return rows


def _stats(url: str) -> dict[str, int]:
    import requests
    return dict(requests.get(f"{url}/_stats", timeout=30).json())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    measure(args.results, args.concurrency, args.batch,
            on_row=lambda row: print(json.dumps(row), flush=True))


if __name__ == "__main__":
    main()
