"""Benchmark the web pages' server render time on the 3,000-student sample (target: 300 ms).

Usage::

    python bench/bench_pages.py [--students 3000] [--seed 2026] [--store sqlite|postgresql]
        [--repeat 15] [--rebuild] [--json]

The district is the serving benchmark's cached one (``bench_api_serving.py`` builds and
caches it under ``var/bench/serving-<students>-<seed>/``). A district admin is made in a
fresh copy of the store and signs in through ``/login`` as a person would; then every
page is asked for through Flask's test client, in this process, so the time is the
server's: routing, authorisation, queries, template and chart, with no network or
browser in it. Each page is warmed twice and then asked for ``--repeat`` times, over
different students and classes where the page has them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api_serving import DISTRICT, build_files, open_store, percentile, pick_targets

TARGET_MS = 300.0
EMAIL = "bench-admin@cedar-ridge.example"
PASSWORD = "bench password " + uuid.uuid4().hex


def _admin(url: str) -> None:
    from connector.persistence.db import make_engine, make_session_factory
    from connector.persistence.tenancy import tenant_session
    from connector.sync import accounts
    from connector.sync.district import find_district

    engine = make_engine(url)
    factory = make_session_factory(engine)
    district = find_district(factory, DISTRICT)
    assert district is not None
    with tenant_session(factory, district) as session, session.begin():
        accounts.create_user(session, EMAIL, name="bench", by="bench", password=PASSWORD)
        accounts.grant(session, EMAIL, "district_admin", by="bench")
    engine.dispose()


def _signed_in(app: Any) -> Any:
    client = app.test_client()
    login = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login)
    assert token, "no CSRF token on the sign-in page"
    answer = client.post("/login", base_url="https://localhost", data={
        "csrf_token": token.group(1), "district": DISTRICT, "email": EMAIL,
        "password": PASSWORD})
    assert answer.status_code == 303, answer.status_code
    return client


def _pages(url: str, targets: Any) -> dict[str, list[str]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        district = connection.execute(text("SELECT id FROM district WHERE key = :k"),
                                      {"k": DISTRICT}).scalar_one()
        run = connection.execute(text("SELECT max(id) FROM sync_run WHERE district_id = :d"),
                                 {"d": district}).scalar_one()
        pairs = connection.execute(text(
            "SELECT s.sourced_id, c.identifier FROM mastery_record r "
            "JOIN student s ON s.id = r.student_id JOIN competency c ON c.id = r.competency_id "
            "WHERE r.district_id = :d AND r.evidence_count > 0 ORDER BY r.id LIMIT 400"),
            {"d": district}).all()
        school = connection.execute(text(
            "SELECT school_sourced_id FROM student WHERE district_id = :d "
            "GROUP BY school_sourced_id ORDER BY count(*) DESC LIMIT 1"),
            {"d": district}).scalar_one()
    engine.dispose()
    base = f"/districts/{DISTRICT}"
    step = max(len(pairs) // 40, 1)
    return {
        "home": [f"{base}/"],
        "sync status": [f"{base}/console/"],
        "run page": [f"{base}/console/runs/{run}"],
        "identity queue": [f"{base}/console/identity/"],
        "mapping queue": [f"{base}/console/mapping/"],
        "sources and destinations": [f"{base}/console/systems/"],
        "classes": [f"{base}/classes/"],
        "class grid": [f"{base}/classes/{c}/" for c in targets.classes[:40]],
        "student": [f"{base}/students/{s}/" for s in targets.students[:40]],
        "competency": [f"{base}/students/{s}/competencies/{c}" for s, c in pairs[::step][:40]],
        "DOK exposure by school": [f"{base}/reports/dok"],
        "DOK exposure by class": [f"{base}/reports/dok?by=class"],
        "progress, one school": [f"{base}/reports/progress?school={school}"],
        "progress, district": [f"{base}/reports/progress"],
        "equity by race, one school": [f"{base}/reports/equity?school={school}"],
        "equity by sex, district": [f"{base}/reports/equity?by=sex"],
        "content impact by school": [f"{base}/reports/content"],
        "content impact by class": [f"{base}/reports/content?by=class"],
        "family view": [f"{base}/family/{s}/" for s in targets.students[:40]],
        "registrar desk, one school": [f"{base}/registrar/?school={school}"],
        "transcript preview": [f"{base}/registrar/students/{s}/transcript.html"
                               for s in targets.students[:40]],
        "registrar, one student": [f"{base}/registrar/students/{s}/"
                                   for s in targets.students[:40]],
        "policy lab (the form, nothing compared)": [f"{base}/policy-lab"],
    }


def measure(students: int, seed: int, store: str, repeat: int, rebuild: bool) -> dict[str, Any]:
    workspace = build_files(students, seed, rebuild)
    rows = []
    with open_store(workspace, store, rebuild, print, False) as url:
        targets = pick_targets(url, seed)
        _admin(url)
        os.environ.setdefault("CONNECTOR_SECRET_KEY", "bench-only-" + uuid.uuid4().hex * 2)
        from connector.app import create_app

        app = create_app({"CONNECTOR_CONFIG_DIR": str(workspace / "config"),
                          "CONNECTOR_DATABASE_URL": url})
        client = _signed_in(app)
        from connector.serving import settle

        settle()  # as a gunicorn worker does once the app is loaded
        for name, paths in _pages(url, targets).items():
            for path in paths[:2]:
                answer = client.get(path, base_url="https://localhost")
                assert answer.status_code == 200, (path, answer.status_code)
            times = []
            for n in range(repeat):
                path = paths[(n + 2) % len(paths)]
                started = time.perf_counter()
                answer = client.get(path, base_url="https://localhost")
                times.append(1000 * (time.perf_counter() - started))
                assert answer.status_code == 200, (path, answer.status_code)
            rows.append({"page": name, "p50_ms": round(percentile(times, 50), 1),
                         "p95_ms": round(percentile(times, 95), 1),
                         "max_ms": round(max(times), 1), "requests": len(times)})
            print(f"{name}: p50 {rows[-1]['p50_ms']} ms, p95 {rows[-1]['p95_ms']} ms")
        app.extensions["connector"].engine.dispose()
    return {"students": students, "seed": seed, "store": store, "target_ms": TARGET_MS,
            "pages": rows}


def markdown(result: dict[str, Any]) -> str:
    lines = [f"{result['store']}, {result['students']} students (seed {result['seed']}):", "",
             "| Page | p50 | p95 | max | Under 300 ms at p95 |", "|---|---|---|---|---|"]
    for row in result["pages"]:
        lines.append(f"| {row['page']} | {row['p50_ms']} ms | {row['p95_ms']} ms | "
                     f"{row['max_ms']} ms | {'yes' if row['p95_ms'] < TARGET_MS else 'no'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.students, args.seed, args.store, args.repeat, args.rebuild)
    print(json.dumps(result, indent=2) if args.json else markdown(result))


if __name__ == "__main__":
    main()
