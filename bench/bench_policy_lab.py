"""Benchmark the policy lab on the mastery benchmark's district (25,000 students by default).

Usage::

    python bench/bench_policy_lab.py [--students 25000] [--store /tmp/bench-lab.sqlite3]
                                     [--reuse]

The district is the one ``bench/bench_mastery.py`` loads (not timed), with its records
computed once by a full recompute (not timed). Then each comparison is timed end to
end as ``connector mastery compare-policies`` runs it: reading every pair's evidence,
computing under the other policy, reading the records held, tallying.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mastery import _config, _load

from connector.persistence.db import make_engine, make_session_factory
from connector.persistence.tenancy import tenant_session
from connector.sync import compute, policy_lab

CHANGES = (("method highest", {"method": "highest"}),
           ("method mean", {"method": "mean"}),
           ("minimum evidence 12 (more than any pair has)", {"min_evidence": "12"}))


def measure(students: int, store: Path | None, reuse: bool) -> list[tuple[str, str]]:
    folder = Path(tempfile.mkdtemp(prefix="bench-lab-"))
    path = store or folder / "bench.sqlite3"
    url = f"sqlite:///{path}"
    if reuse and path.exists():
        settings = _config(folder, 40)
    else:
        path.unlink(missing_ok=True)
        settings, _, _ = _load(url, folder, students, 40, 10)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with engine.connect() as connection:
        district_id = int(connection.execute(text("SELECT id FROM district")).scalar_one())
        records = int(connection.execute(text("SELECT count(*) FROM mastery_record")).scalar_one())
    if not records:
        with tenant_session(factory, district_id) as session, session.begin():
            compute.recompute(session, settings, compute.all_pairs(session), committed=True)
    out = []
    for name, typed in CHANGES:
        started = time.perf_counter()
        with tenant_session(factory, district_id) as session:
            changes = policy_lab.changes_from_text(settings, **typed)  # type: ignore[arg-type]
            report = policy_lab.lab_report(policy_lab.run_lab(session, settings, changes),
                                           settings)
        seconds = time.perf_counter() - started
        t = report["total"]
        out.append((f"Policy lab, {name}",
                    f"{seconds:.1f} s for {t['compared']:,} records: {t['changed']:,} would "
                    f"change, {t['into_proficient']:,} into and {t['out_of_proficient']:,} out "
                    "of Proficient (target <= 30 s)"))
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=25_000)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    for name, value in measure(args.students, args.store, args.reuse):
        print(f"{name}: {value}", file=sys.stdout, flush=True)


if __name__ == "__main__":
    main()
