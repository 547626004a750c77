"""A push killed at any moment sends each result once (issue 14: exactly-once bundles).

Twenty trials per store: the push of the whole district's results as a first
bundle is SIGKILLed at a random moment of its file and database steps
(``tests/fakes/crash_at.py``), then run again as normal. Across the bundles the SIS
can see, every result must appear exactly once, nothing hidden may be left
behind, and the ledger must name only bundles that exist.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path
from random import Random

import pytest
from sqlalchemy import delete, func, select

from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync.district import find_district
from tests.conftest import SampleDistrict
from tests.integration.test_run_lifecycle import connector, run_cli

#: One kill in each TRIALS-th of the push, so every phase is hit. PUSH_CRASH_TRIALS=40
#: runs more (docs/benchmarks.md); bench/crash_trials.py kills whole syncs.
TRIALS = int(os.environ.get("PUSH_CRASH_TRIALS", "8"))
DESTINATION = "sis-results"


def _root(district: SampleDistrict) -> Path:
    return district.workspace / "out" / "oneroster" / DESTINATION


def _reset(district: SampleDistrict) -> None:
    """Nothing sent yet: an empty ledger and an empty bundle folder."""
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session, session.begin():
        session.execute(delete(m.PushLedger).where(m.PushLedger.destination == DESTINATION))
    root = _root(district)
    for path in root.iterdir() if root.exists() else []:
        if path.is_dir():
            for inner in path.iterdir():
                inner.unlink()
            path.rmdir()
        else:
            path.unlink()


def _crashing(district: SampleDistrict, db_url: str, at: int, count_file: Path | None = None
              ) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tests.fakes.crash_at",
               *connector(district.workspace, db_url, "push", "run", DESTINATION)[3:]]
    env = {**os.environ, "CRASH_AT": str(at), "PYTHONPATH": str(Path(__file__).parents[2])}
    if count_file is not None:
        env["CRASH_COUNT_FILE"] = str(count_file)
    return subprocess.run(command, cwd=district.workspace, env=env, text=True,
                          capture_output=True, timeout=300)


def _published(district: SampleDistrict) -> Counter[str]:
    sent: Counter[str] = Counter()
    for bundle in sorted(_root(district).glob("*.zip")):
        with zipfile.ZipFile(bundle) as archive:
            rows = csv.DictReader(io.StringIO(archive.read("results.csv").decode()))
            sent.update(row["sourcedId"] for row in rows)
    return sent


def _ledger(district: SampleDistrict) -> tuple[int, set[str]]:
    district_id = find_district(district.factory, "cedar-ridge")
    with tenant_session(district.factory, district_id) as session:
        count = session.scalar(select(func.count()).select_from(m.PushLedger).where(
            m.PushLedger.destination == DESTINATION)) or 0
        places = set(session.scalars(select(m.PushLedger.location).where(
            m.PushLedger.destination == DESTINATION).distinct()))
    return count, places


@pytest.fixture(scope="module")
def sample_district(small_district: SampleDistrict) -> SampleDistrict:
    """Two processes per trial: the small sample (its 500 results make a first bundle)."""
    return small_district


def test_a_push_killed_at_any_moment_sends_each_result_once(
        sample_district: SampleDistrict, module_db_url: str, tmp_path: Path) -> None:
    _reset(sample_district)
    counted = tmp_path / "moments"
    whole = _crashing(sample_district, module_db_url, 0, counted)
    assert whole.returncode == 0, whole.stderr
    moments = int(counted.read_text())
    expected = _published(sample_district)
    assert len(expected) > 400 and set(expected.values()) == {1}
    random = Random(14)
    outcomes = []
    for trial in range(TRIALS):
        _reset(sample_district)
        low = 1 + trial * moments // TRIALS
        at = random.randint(low, max(low, (trial + 1) * moments // TRIALS))
        killed = _crashing(sample_district, module_db_url, at)
        assert killed.returncode == -9, (at, killed.stderr[-2000:])
        rerun = run_cli(sample_district.workspace, module_db_url, "push", "run", DESTINATION)
        assert rerun.returncode == 0, (at, rerun.stderr[-2000:])
        sent = _published(sample_district)
        assert sent.keys() == expected.keys(), (trial, at)
        assert set(sent.values()) == {1}, (trial, at, "a result was sent twice")
        hidden = sorted(p.name for p in _root(sample_district).iterdir()
                        if p.name.startswith("."))
        assert hidden == [], (trial, at, hidden)
        rows, places = _ledger(sample_district)
        assert rows == len(expected) and all(Path(p).exists() for p in places), (trial, at)
        outcomes.append("adopted or finished" if "bundle" in rerun.stderr else "sent again")
    assert len(outcomes) == TRIALS
