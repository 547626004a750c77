"""Every run ends with a status and a reason, one run per job at a time, no partial bulk bundle.

The runs are real ``connector`` processes. A framework served through a gate
(tests/fakes/gate.py) holds a run in the middle of its work for as long as the
test needs: a second run, a SIGTERM or a kill -9 lands exactly there.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import make_workspace
from tests.fakes.gate import Gate, gated_file

#: Results the small sample's first push holds: these tests are about processes, so they
#: sync the small sample (tests/conftest.py, SMALL_STUDENTS).
RESULTS = 500


def connector(workspace: Path, db_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "connector.cli.main", "--config-dir",
            str(workspace / "config"), "--database-url", db_url, *args]


def run_cli(workspace: Path, db_url: str, *args: str,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(connector(workspace, db_url, *args), cwd=workspace, text=True,
                          capture_output=True, timeout=timeout)


@contextmanager
def start(workspace: Path, db_url: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    """A connector process, killed (if still running) and its pipes closed at the end."""
    with subprocess.Popen(connector(workspace, db_url, *args), cwd=workspace, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


def edit(workspace: Path, name: str, change: Any) -> None:
    path = workspace / "config" / "districts" / "cedar-ridge" / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def runs(workspace: Path, db_url: str, *args: str) -> list[dict[str, Any]]:
    listed = run_cli(workspace, db_url, "runs", "list", "--json", *args)
    assert listed.returncode == 0, listed.stderr
    found: list[dict[str, Any]] = json.loads(listed.stdout)
    return found


def read_until(stream: Any, text: str, lines: int = 50) -> str:
    """Lines of a process's output up to the first that holds ``text``."""
    seen = []
    for _ in range(lines):
        line = stream.readline()
        seen.append(line)
        if text in line or not line:
            break
    assert text in "".join(seen), seen
    return "".join(seen)


def bundles(workspace: Path) -> list[Path]:
    return sorted((workspace / "out" / "oneroster" / "sis-results").glob("*.zip"))


def result_rows(bundle: Path) -> int:
    with zipfile.ZipFile(bundle) as archive:
        return len(archive.read("results.csv").decode().splitlines()) - 1


@pytest.fixture
def gated(tmp_path: Path, small_sample: Path) -> Iterator[tuple[Path, Gate]]:
    """The small sample's workspace, whose DOK framework waits at a gate."""
    workspace = make_workspace(tmp_path, small_sample)
    dok = workspace / "examples" / "sample-district" / "case" / "webb-dok.json"
    with gated_file(dok) as gate:
        edit(workspace, "district.yaml",
             lambda d: d["frameworks"][0].update(location=gate.url))
        yield workspace, gate


def test_a_second_run_of_a_running_job_is_refused_with_exit_3(
        gated: tuple[Path, Gate], db_url: str) -> None:
    workspace, gate = gated
    with start(workspace, db_url, "sync", "run", "nightly-sync") as first:
        gate.wait_for_request()
        second = run_cli(workspace, db_url, "sync", "run", "nightly-sync")
        assert second.returncode == 3, second.stderr
        assert "job 'nightly-sync' is already running (run 1, started" in second.stderr
        assert "--wait" in second.stderr and "Traceback" not in second.stderr
        assert bundles(workspace) == []  # the refused run wrote nothing at all
        gate.open()
        out, err = first.communicate(timeout=180)
    assert first.returncode == 0, err
    (bundle,) = bundles(workspace)
    assert bundle.name.endswith("-bulk.zip") and result_rows(bundle) == RESULTS
    assert [r["status"] for r in runs(workspace, db_url)] == ["succeeded_with_rejections"]


def test_wait_starts_the_second_run_when_the_first_ends(
        gated: tuple[Path, Gate], db_url: str) -> None:
    workspace, gate = gated
    with start(workspace, db_url, "sync", "run", "nightly-sync") as first:
        gate.wait_for_request()
        with start(workspace, db_url, "sync", "run", "nightly-sync", "--wait",
                   "--json") as second:
            read_until(second.stderr, "waiting for it to end")
            gate.open()
            first.communicate(timeout=180)
            assert first.returncode == 0
            out, err = second.communicate(timeout=180)
            assert second.returncode == 0, err
    report = json.loads(out)
    assert report["run_id"] == 2 and report["changes"] == 0  # it ran after, on the same inputs
    assert len(bundles(workspace)) == 1


def test_sigterm_mid_run_records_interrupted_with_the_reason_and_exits_4(
        gated: tuple[Path, Gate], db_url: str) -> None:
    workspace, gate = gated
    with start(workspace, db_url, "sync", "run", "nightly-sync") as first:
        gate.wait_for_request()
        first.send_signal(signal.SIGTERM)
        told = read_until(first.stderr, "SIGTERM received: job 'nightly-sync' stops after")
        gate.open()  # the framework in hand is finished; the run stops before the next stage
        out, err = first.communicate(timeout=180)
        err = told + err
    assert first.returncode == 4, err
    assert "interrupted: SIGTERM received; stopped before framework math-ela" in err
    (run,) = runs(workspace, db_url)
    assert run["status"] == "interrupted" and run["finished_at"] is not None
    assert run["reason"] == ("interrupted: SIGTERM received; stopped before framework "
                             "math-ela")
    assert bundles(workspace) == []
    # The next run catches up in full and pushes the whole district as the first bundle.
    again = run_cli(workspace, db_url, "sync", "run", "nightly-sync")
    assert again.returncode == 0, again.stderr
    (bundle,) = bundles(workspace)
    assert bundle.name.endswith("-bulk.zip") and result_rows(bundle) == RESULTS


def test_a_run_killed_with_sigkill_is_found_and_closed_by_runs_list(
        gated: tuple[Path, Gate], db_url: str) -> None:
    workspace, gate = gated
    with start(workspace, db_url, "sync", "run", "nightly-sync") as first:
        gate.wait_for_request()
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    (run,) = runs(workspace, db_url)
    assert run["status"] == "interrupted"
    assert run["reason"].startswith("the process running it stopped without finishing")
    shown = run_cli(workspace, db_url, "runs", "show", "1")
    assert shown.returncode == 0 and "interrupted" in shown.stdout
    assert "killed, or the machine went down" in shown.stdout


def test_runs_show_and_rejections_of_a_missing_run_exit_2(tmp_path: Path, db_url: str) -> None:
    workspace = make_workspace(tmp_path)
    for command in (("runs", "show", "7"), ("runs", "rejections", "7")):
        missing = run_cli(workspace, db_url, *command)
        assert missing.returncode == 2
        assert "there is no run 7 in this district; no run has been recorded yet" in \
            missing.stderr
        assert "Traceback" not in missing.stderr


def test_a_failed_run_never_writes_a_bulk_bundle(tmp_path: Path, db_url: str,
                                                small_sample: Path) -> None:
    workspace = make_workspace(tmp_path, small_sample)
    edit(workspace, "sources.yaml", lambda d: d["sources"][1].update(
        path="examples/sample-district/adaptive/not-delivered-yet.csv"))
    failed = run_cli(workspace, db_url, "sync", "run", "nightly-sync", "--json")
    assert failed.returncode == 1
    report = json.loads(failed.stdout)
    assert report["status"] == "failed"
    assert any(e.startswith("source practice-pal:") for e in report["errors"])
    (bundle,) = bundles(workspace)
    # What the run did compute goes out as a delta: a SIS applying it changes those results
    # and leaves every other result alone, where a bulk file would replace them all.
    assert bundle.name.endswith("-delta.zip")
    with zipfile.ZipFile(bundle) as archive:
        manifest = archive.read("manifest.csv").decode()
    assert "file.results,delta" in manifest and "bulk" not in manifest
    (run,) = runs(workspace, db_url, "--status", "failed")
    assert run["reason"].startswith("source practice-pal:")
    assert run["duration_seconds"] is not None and run["duration_seconds"] >= 0
