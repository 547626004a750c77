"""Configuration: the sample is valid; every problem is reported with file, key path and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from connector.cli.main import cli
from connector.config.loader import InvalidConfiguration, load_settings, validate
from connector.config.secrets import expand_references, resolve_secret
from connector.errors import ConfigurationError
from tests.conftest import make_workspace


def _edit(workspace: Path, name: str, change: object) -> None:
    path = workspace / "config" / "districts" / "cedar-ridge" / name
    data = yaml.safe_load(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data))


def test_sample_configuration_is_valid(workspace: Path) -> None:
    settings = load_settings(workspace / "config")
    assert settings.district.key == "cedar-ridge"
    assert settings.district.mastery.default.method == "decaying_average"
    assert settings.district.mastery.for_framework("habits").method == "most_recent"
    assert set(settings.sources) == {"sis-gradebook", "practice-pal"}
    assert settings.jobs["nightly-sync"].schedule == "30 2 * * *"
    assert len(settings.version) == 16
    assert settings.resolve_path("examples/x") == workspace / "examples" / "x"


def test_every_problem_is_reported_with_file_and_key_path(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)

    def district(data: dict) -> None:
        data["mastery"]["method"] = "olympic_average"
        data["district"]["api_token"] = "plain-text-token"
        data["scale"]["levels"][1]["value"] = 9

    def sources(data: dict) -> None:
        data["sources"][0]["score_conversion"]["cuts"][0]["level"] = "A"
        data["sources"][1]["kind"] = "smoke_signals"

    def jobs(data: dict) -> None:
        data["jobs"][0]["schedule"] = "every night"
        data["jobs"][0]["sources"].append("lms-nowhere")

    _edit(workspace, "district.yaml", district)
    _edit(workspace, "sources.yaml", sources)
    _edit(workspace, "jobs.yaml", jobs)
    problems = validate(workspace / "config")
    text = "\n".join(str(p) for p in problems)
    assert "cedar-ridge/district.yaml: mastery.method: unknown mastery method 'olympic_average'" in text
    assert "cedar-ridge/district.yaml: district.api_token: secrets must be environment references" in text
    assert "cedar-ridge/district.yaml: scale" in text and "strictly increasing" in text
    assert "cedar-ridge/sources.yaml: sources[1].kind: unknown source kind 'smoke_signals'" in text
    assert "cedar-ridge/jobs.yaml: jobs[0].schedule: 'every night' is not a cron expression" in text
    with pytest.raises(InvalidConfiguration) as info:
        load_settings(workspace / "config")
    assert len(info.value.problems) == len(problems) >= 5


def test_cross_references_are_checked(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    _edit(workspace, "sources.yaml", lambda d: d["sources"][0]["score_conversion"]["cuts"][0]
          .update(level="7"))
    _edit(workspace, "jobs.yaml", lambda d: d["jobs"][0]["sources"].append("lms-nowhere"))
    text = "\n".join(str(p) for p in validate(workspace / "config"))
    assert "sis-gradebook.score_conversion.cuts: level '7' is not on scale 'cr-4'" in text
    assert "nightly-sync.sources: 'lms-nowhere' is not configured" in text


def test_validate_command_exit_codes(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    runner = CliRunner()
    ok = runner.invoke(cli, ["--config-dir", str(workspace / "config"), "config", "validate"])
    assert ok.exit_code == 0 and "is valid" in ok.output
    _edit(workspace, "district.yaml", lambda d: d["mastery"]["parameters"].update(weight=1.5))
    bad = runner.invoke(cli, ["--config-dir", str(workspace / "config"), "config", "validate"])
    assert bad.exit_code == 2
    assert "mastery.parameters: method 'decaying_average': parameter 'weight' must be between 0.5 and 0.99" \
        in bad.output


def test_secret_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIS_TOKEN", "s3cret")
    assert resolve_secret("${SIS_TOKEN}", purpose="SIS") == "s3cret"
    with pytest.raises(ConfigurationError, match="environment references"):
        resolve_secret("s3cret", purpose="SIS")
    monkeypatch.delenv("SIS_TOKEN")
    with pytest.raises(ConfigurationError, match="SIS_TOKEN is not set"):
        resolve_secret("${SIS_TOKEN}", purpose="SIS")
    assert expand_references("${NOPE:-data}/x.csv") == "data/x.csv"


def test_policy_overrides_inherit_and_competency_settings_apply(workspace: Path) -> None:
    def district(data: dict) -> None:
        data["mastery"]["recency_days"] = 365
        data["mastery"]["adaptive"] = {"treatment": "cap", "max_level": "2"}
        data["mastery"]["framework_overrides"]["math-ela"] = {"parameters": {"weight": 0.75}}
        data["mastery"]["competency_overrides"] = {
            "CR.MA.RP.1.a": {"method": "power_law", "min_evidence": 3},
            "b3f6a3c2-0000-4000-8000-000000000001": {"attempts": "supersede"}}

    _edit(workspace, "district.yaml", district)
    mastery = load_settings(workspace / "config").district.mastery
    assert mastery.default.recency_days == 365 and mastery.default.adaptive == "cap"
    math = mastery.for_framework("math-ela")
    assert math.parameters["weight"] == 0.75 and math.min_evidence == 2  # inherited
    habits = mastery.for_framework("habits")
    assert habits.method == "most_recent" and habits.recency_days == 365
    by_code = mastery.for_competency("math-ela", "some-uuid", "CR.MA.RP.1.a")
    assert (by_code.method, by_code.parameters["fallback"], by_code.min_evidence) == (
        "power_law", "mean", 3)
    by_id = mastery.for_competency("habits", "b3f6a3c2-0000-4000-8000-000000000001")
    assert by_id.attempts == "supersede" and by_id.method == "most_recent"
    assert mastery.for_competency("math-ela", "other", "CR.MA.RP.9") == math


def test_policy_mistakes_are_reported_at_their_key(workspace: Path) -> None:
    def district(data: dict) -> None:
        data["mastery"]["adaptive"] = {"treatment": "cap", "max_level": "9"}
        data["mastery"]["framework_overrides"]["habits"]["parameters"] = {"weight": 0.7}
        data["mastery"]["competency_overrides"] = {"X.1": {"method": "recent_n",
                                                           "parameters": {"n": 0}}}

    _edit(workspace, "district.yaml", district)
    text = "\n".join(str(p) for p in validate(workspace / "config"))
    assert "mastery.framework_overrides.habits" in text and "does not take parameter(s)" in text
    assert "mastery.competency_overrides.X.1" in text and "'n' must be between 1 and 50: 0" in text


def test_adaptive_cap_must_be_a_level_of_the_scale(workspace: Path) -> None:
    _edit(workspace, "district.yaml", lambda d: d["mastery"].update(
        adaptive={"treatment": "cap", "max_level": "9"}))
    text = "\n".join(str(p) for p in validate(workspace / "config"))
    assert "adaptive max_level '9' is not a level of scale 'cr-4'" in text


def test_validate_names_an_unset_variable_a_bad_path_and_a_bad_timezone_in_one_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = make_workspace(tmp_path)
    monkeypatch.delenv("CANVAS_API_TOKEN", raising=False)
    monkeypatch.setenv("CEDAR_RIDGE_API_TOKEN", "set")
    monkeypatch.setenv("CEDAR_RIDGE_API_WRITE_TOKEN", "set")

    def sources(data: dict) -> None:
        data["sources"][1]["path"] = "examples/sample-district/adaptive/no-such-export.csv"
        data["sources"].append({
            "key": "canvas", "kind": "canvas", "base_url": "https://cr.instructure.com",
            "token": "${CANVAS_API_TOKEN}", "evidence": {"evidence_type": "teacher_task"},
            "score_conversion": {"cuts": [{"min_percent": 0, "level": "1"}]}})
        data["sources"].append({"key": "khan", "kind": "file_drop", "profile": "khan-mastery",
                                "inbox": "drops/khan"})

    _edit(workspace, "sources.yaml", sources)
    _edit(workspace, "jobs.yaml", lambda d: d["jobs"][0]["sources"].extend(["canvas", "khan"]))
    result = CliRunner().invoke(cli, ["--config-dir", str(workspace / "config"), "config",
                                      "validate", "--json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    errors = {(e["key_path"], e["message"]) for e in report["errors"]}
    assert ("sources[2].token", "environment variable CANVAS_API_TOKEN is not set; source "
            "'canvas' needs it") in errors
    assert any(path == "practice-pal.path" and "no-such-export.csv" in message
               and message.endswith("does not exist") for path, message in errors)
    assert any(path == "khan.inbox" and "does not exist" in message for path, message in errors)
    assert report["valid"] is False and report["warnings"] == []

    _edit(workspace, "district.yaml", lambda d: d["district"].update(timezone="America/Denvr"))
    again = CliRunner().invoke(cli, ["--config-dir", str(workspace / "config"), "config",
                                     "validate"])
    assert again.exit_code == 2
    assert ("cedar-ridge/district.yaml: district.timezone: 'America/Denvr' is not an IANA time "
            "zone name such as 'America/Denver'; did you mean 'America/Denver'?") in again.output
    # one real error, and no false ones about the valid file_drop and canvas entries
    assert "sources[3]" not in again.output and "Missing data" not in again.output
    assert "{" not in again.output  # sentences, never a Python dict


def test_a_problem_in_something_no_job_uses_is_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = make_workspace(tmp_path)
    monkeypatch.delenv("CEDAR_RIDGE_API_TOKEN", raising=False)
    monkeypatch.delenv("SPARE_TOKEN", raising=False)
    _edit(workspace, "sources.yaml", lambda d: d["sources"].append({
        "key": "spare", "kind": "canvas", "base_url": "https://cr.instructure.com",
        "token": "${SPARE_TOKEN}", "evidence": {"evidence_type": "teacher_task"},
        "score_conversion": {"cuts": [{"min_percent": 0, "level": "1"}]}}))
    result = CliRunner().invoke(cli, ["--config-dir", str(workspace / "config"), "config",
                                      "validate"])
    assert result.exit_code == 0, result.output
    assert ("warning: cedar-ridge/sources.yaml: sources[2].token: environment variable "
            "SPARE_TOKEN is not set; source 'spare' (which no job uses yet) needs it") \
        in result.output
    assert ("warning: cedar-ridge/district.yaml: district.api_token: environment variable "
            "CEDAR_RIDGE_API_TOKEN is not set; the JSON API ('connector serve') needs it") \
        in result.output
    assert "is valid" in result.output and "warning(s)" in result.output


def test_an_unknown_profile_is_one_problem_not_three(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    _edit(workspace, "sources.yaml", lambda d: d["sources"].append(
        {"key": "khan", "kind": "file_drop", "profile": "khan-mastry", "inbox": "x"}))
    problems = validate(workspace / "config")
    assert [p.key_path for p in problems] == ["sources[2]"]
    assert "khan-mastry" in problems[0].message


def test_a_broken_scale_does_not_make_valid_sources_look_broken(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    _edit(workspace, "district.yaml", lambda d: d["scale"].pop("proficient"))
    _edit(workspace, "sources.yaml", lambda d: d["sources"].append(
        {"key": "khan", "kind": "file_drop", "profile": "khan-mastery", "inbox": "x"}))
    problems = validate(workspace / "config")
    assert [(p.file, p.key_path) for p in problems] == [("cedar-ridge/district.yaml",
                                                         "scale.proficient")]


def test_a_districts_setting_overrides_a_profiles_one_key_at_a_time(tmp_path: Path) -> None:
    # The profile gives evidence type, DOK and cut scores; the district sets only its own DOK
    # and its own cuts, and keeps the profile's evidence type.
    workspace = make_workspace(tmp_path)
    (workspace / "drops").mkdir()
    _edit(workspace, "sources.yaml", lambda d: d["sources"].append(
        {"key": "khan", "kind": "file_drop", "profile": "khan-mastery", "inbox": "drops",
         "evidence": {"dok": 3},
         "score_conversion": {"cuts": [{"min_percent": 0, "level": "1"},
                                       {"min_percent": 90, "level": "3"}]}}))
    khan = load_settings(workspace / "config").sources["khan"]
    assert khan.evidence.dok == 3
    assert khan.evidence.evidence_type == "adaptive_practice"
    assert [(c.min_percent, c.level_code) for c in khan.conversion.cuts] == [(0, "1"), (90, "3")]
