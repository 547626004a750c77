"""``connector check`` against every vendor's fake: good credentials, wrong ones, no host at all."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connector.cli.main import cli
from tests.conftest import ROOT, make_workspace
from tests.fakes.canvas_server import FakeCanvas
from tests.fakes.case_provider import FakeCaseProvider
from tests.fakes.edfi_server import FakeEdFi
from tests.fakes.google_seed import ADMIN, service_account
from tests.fakes.google_server import FakeClassroom
from tests.fakes.oneroster_seed import rest_objects
from tests.fakes.oneroster_server import ALL_SCOPES, FakeOneRoster
from tests.fakes.schoology_server import FakeSchoology
from tests.fakes.server import serve
from tests.fakes.sftp_server import serve_sftp
from tests.integration.test_run_lifecycle import edit

SECRETS = {"CHK_CANVAS": "canvas-token", "CHK_SGY_KEY": "district-key",
           "CHK_SGY_SECRET": "district-secret", "CHK_OR_ID": "district-sync",
           "CHK_OR_SECRET": "s3cret-value", "CHK_EDFI_KEY": "connector-key",
           "CHK_EDFI_SECRET": "connector-secret", "CHK_CASE": "case-t0ken"}
SYSTEMS = {"canvas", "classroom", "schoology", "sis-api", "vendor-sftp", "sis-gradebook-api",
           "state-edfi", "standards"}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def district(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The sample workspace with one source or destination of every kind, each at its fake."""
    workspace = make_workspace(tmp_path / "w")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with ExitStack() as stack:
        canvas = stack.enter_context(serve(FakeCanvas(throttling=False).app))
        classroom_fake = FakeClassroom(delegated={ADMIN})
        google = stack.enter_context(serve(classroom_fake.app))
        key, public = service_account(google + "/token")
        classroom_fake.accounts["connector@cedar-ridge-sync.iam.gserviceaccount.com"] = public
        monkeypatch.setenv("CHK_GOOGLE", key)
        schoology = stack.enter_context(serve(FakeSchoology().app))
        roster = FakeOneRoster(clients={"district-sync": ("s3cret-value", ALL_SCOPES)})
        for resource, objects in rest_objects(ROOT / "examples" / "sample-district" /
                                              "oneroster").items():
            roster.load(resource, objects)
        sis = stack.enter_context(serve(roster.app))
        edfi_fake = FakeEdFi(clients={"connector-key": "connector-secret"},
                             education_organizations={255901001})
        edfi = stack.enter_context(serve(edfi_fake.app))
        (tmp_path / "remote").mkdir()
        (tmp_path / "remote" / "skills.csv").write_text("a,b\n")
        sftp = stack.enter_context(serve_sftp(tmp_path / "remote"))
        monkeypatch.setenv("CHK_SFTP", sftp.password)
        (tmp_path / "known_hosts").write_text(sftp.known_hosts_line())
        package = json.loads((ROOT / "examples" / "sample-district" / "case" /
                              "cedar-ridge-habits.json").read_text())
        document = package["CFDocument"]["identifier"]
        case = stack.enter_context(FakeCaseProvider({document: package}, token="case-t0ken"))
        lms: dict[str, Any] = {"evidence": {"evidence_type": "teacher_task"},
                               "score_conversion": {"cuts": [{"min_percent": 0, "level": "1"}]}}

        def sources(data: dict[str, Any]) -> None:
            data["sources"] += [
                {"key": "canvas", "kind": "canvas", "base_url": canvas,
                 "token": "${CHK_CANVAS}", **lms},
                {"key": "classroom", "kind": "google_classroom", "base_url": google,
                 "service_account_key": "${CHK_GOOGLE}", "subject": ADMIN, **lms},
                {"key": "schoology", "kind": "schoology", "base_url": schoology + "/v1",
                 "consumer_key": "${CHK_SGY_KEY}", "consumer_secret": "${CHK_SGY_SECRET}",
                 **lms},
                {"key": "sis-api", "kind": "oneroster_rest", "base_url": sis,
                 "client_id": "${CHK_OR_ID}", "client_secret": "${CHK_OR_SECRET}", **lms},
                {"key": "vendor-sftp", "kind": "file_drop", "profile": "ixl-skill-scores",
                 "inbox": str(tmp_path / "inbox"),
                 "sftp": {"host": "127.0.0.1", "port": sftp.port, "username": sftp.username,
                          "password": "${CHK_SFTP}", "known_hosts": str(tmp_path / "known_hosts")}},
            ]

        def destinations(data: dict[str, Any]) -> None:
            data["destinations"] += [
                {"key": "sis-gradebook-api", "kind": "oneroster_rest", "base_url": sis,
                 "client_id": "${CHK_OR_ID}", "client_secret": "${CHK_OR_SECRET}"},
                {"key": "state-edfi", "kind": "edfi", "base_url": edfi,
                 "client_id": "${CHK_EDFI_KEY}", "client_secret": "${CHK_EDFI_SECRET}",
                 "education_organization_id": 255901, "school_year": 2026,
                 "schools": {"org-crms": 255901001},
                 "grading_period": {"descriptor": "uri://ed-fi.org/GradingPeriodDescriptor#EOY",
                                    "name": "EOY"},
                 "objective_grade_level": "uri://ed-fi.org/GradeLevelDescriptor#Seventh grade",
                 "competency_levels": {"3": "uri://ed-fi.org/CompetencyLevelDescriptor#P"}},
            ]

        edit(workspace, "sources.yaml", sources)
        edit(workspace, "destinations.yaml", destinations)
        edit(workspace, "district.yaml", lambda d: d["frameworks"].append(
            {"key": "standards", "kind": "reference", "location": case.url_for(document),
             "token": "${CHK_CASE}"}))
        yield {"workspace": workspace, "urls": {"canvas": canvas, "google": google,
                                                "schoology": schoology, "sis": sis,
                                                "edfi": edfi, "case": case.base_url}}


def run_check(workspace: Path, tmp_path: Path, *keys: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, [
        "--config-dir", str(workspace / "config"),
        "--database-url", f"sqlite:///{tmp_path / 'check.sqlite3'}", "check", "--json", *keys])
    parsed = json.loads(result.stdout) if result.stdout.strip().startswith("[") else []
    return result.exit_code, {r["key"]: r for r in parsed}, result.output


def test_every_system_answers_with_good_credentials(district: dict[str, Any],
                                                    tmp_path: Path) -> None:
    code, results, output = run_check(district["workspace"], tmp_path)
    assert code == 0, output
    assert set(results) >= SYSTEMS and all(r["ok"] for r in results.values()), results
    said = {key: results[key]["message"] for key in SYSTEMS}
    assert said["canvas"] == "signed in to Canvas; the token belongs to user 1"
    assert said["classroom"].startswith(f"signed in to Google Classroom as {ADMIN}")
    assert said["schoology"].startswith("signed in to Schoology;")
    assert said["sis-api"] == "signed in to OneRoster 1.2; at least one org readable"
    assert said["vendor-sftp"].startswith("profile ixl-skill-scores loads; signed in to SFTP "
                                          "127.0.0.1 as vendor; 1 file(s) in .")
    assert said["sis-gradebook-api"].startswith("signed in to OneRoster at ")
    assert said["state-edfi"].endswith("at least one school")
    assert said["standards"] == ("the provider lists 1 framework document(s); this framework's "
                                 "package is among them")
    for secret in SECRETS.values():
        assert secret not in output


def test_wrong_credentials_give_the_vendors_answer_and_no_secret(
        district: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = {"CHK_CANVAS": "stolen-token-1", "CHK_SGY_SECRET": "wrong-secret-2",
             "CHK_OR_SECRET": "wrong-secret-3", "CHK_EDFI_SECRET": "wrong-secret-4",
             "CHK_CASE": "wrong-token-5", "CHK_SFTP": "wrong-pass-6"}
    for name, value in wrong.items():
        monkeypatch.setenv(name, value)
    code, results, output = run_check(district["workspace"], tmp_path, *sorted(
        SYSTEMS - {"classroom"}))
    assert code == 1
    assert not any(r["ok"] for r in results.values())
    assert "refused our credentials (HTTP 401): Invalid access token." in \
        results["canvas"]["message"]
    assert "refused our credentials (HTTP 401)" in results["schoology"]["message"]
    assert "refused" in results["sis-api"]["message"]
    assert "refused" in results["state-edfi"]["message"]
    assert "refused our credentials (HTTP 401): Unauthorized" in results["standards"]["message"]
    assert "refused the credentials for user 'vendor'" in results["vendor-sftp"]["message"]
    for value in [*wrong.values(), *SECRETS.values()]:
        assert value not in output


def test_an_unreachable_host_is_said_plainly(district: dict[str, Any], tmp_path: Path) -> None:
    workspace = district["workspace"]
    nowhere = f"http://127.0.0.1:{closed_port()}"
    edit(workspace, "sources.yaml", lambda d: [s.update(base_url=nowhere)
                                               for s in d["sources"] if s["key"] == "canvas"])
    edit(workspace, "destinations.yaml", lambda d: [s.update(base_url=nowhere)
                                                    for s in d["destinations"]
                                                    if s["key"] == "state-edfi"])
    code, results, output = run_check(workspace, tmp_path, "canvas", "state-edfi", "sis-results")
    assert code == 1
    assert results["canvas"]["message"] == \
        "Canvas source 'canvas' did not answer: ConnectionError"
    assert "did not answer" in results["state-edfi"]["message"]
    assert results["sis-results"]["ok"] is True  # the others are still checked
    assert max(r["seconds"] for r in results.values()) < 10  # asked once, not retried


def test_an_unknown_key_is_a_configuration_error(district: dict[str, Any],
                                                 tmp_path: Path) -> None:
    code, _results, output = run_check(district["workspace"], tmp_path, "canvass")
    assert code == 2 and "nothing is configured under 'canvass'" in output
