"""Vendor profiles: every shipped profile reads its own sample export, and bad cells are named."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.adapters.vendor_profiles import conversion_defaults, read_row, shipped_profiles
from connector.adapters.vendor_profiles.profile import (
    VendorProfile,
    date_in_file_name,
    level_code,
    parse_profile,
)
from connector.config.schemas import ConversionSchema
from connector.domain.scale import Level, ProficiencyScale
from connector.errors import ConfigurationError, DataError
from connector.mapping.normalise import to_level
from connector.sample.vendor_exports import SampleSkill, write

SHIPPED = shipped_profiles()
FOUR = ProficiencyScale("cr-4", "four", tuple(Level(c, c, float(c)) for c in "1234"), "3")
THREE = ProficiencyScale("s-3", "three", (Level("N", "Novice", 1), Level("P", "Proficient", 2),
                                          Level("E", "Expert", 3)), "P")
FILE_DATE = datetime(2026, 9, 30, tzinfo=UTC)


def _sample(profile: VendorProfile, count: int = 40) -> list[dict[str, str]]:
    buffer = io.StringIO()
    skills = [SampleSkill("A.1", "Ratios", "6.RP.A.1", "Ratios"), SampleSkill("B.2", "Rates")]
    write(buffer, profile, ["S1", "S2", "S3"], skills, count)
    buffer.seek(0)
    return list(csv.DictReader(buffer, delimiter=profile.delimiter))


def test_the_issue_names_every_vendor() -> None:
    vendors = {p.vendor.split()[-1] if "i-Ready" not in p.vendor else "i-Ready"
               for p in SHIPPED.values()}
    assert {"IXL", "i-Ready", "Academy", "ALEKS", "Math", "Growth", "Series"} <= vendors
    assert {"iready-diagnostic", "iready-lessons", "khan-mastery", "nwea-map-growth",
            "scantron-performance", "st-math-progress", "imagine-math-progress",
            "ixl-skill-scores", "aleks-knowledge-check"} == set(SHIPPED)


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_shipped_profile_reads_its_sample_export(key: str) -> None:
    profile = SHIPPED[key]
    # A download dated by its name holds one row per student and skill.
    rows = _sample(profile, 6 if profile.date_from_file_name else 40)
    parsed = [read_row(profile, row, source="v", timezone="America/Denver", file_date=FILE_DATE)
              for row in rows]
    read = [p for p in parsed if p is not None]
    assert len(read) == len(rows)  # generated scores are never blank
    for item, score in read:
        assert score.student.value in {"S1", "S2", "S3"}
        assert score.scored_at is not None and score.scored_at.tzinfo is not None
        assert score.score is not None
        if score.max_score is None:
            assert 0 <= score.score <= 100
        assert item.kind == profile.item_kind
    # Every row of a student, skill and day is one score: keys are unique in a sample.
    assert len({s.sourced_id for _, s in read}) == len(read)
    assert profile.evidence_type in ("adaptive_practice", "diagnostic")
    assert profile.dok in (1, 2)
    assert profile.notes  # each says how far its column names can be trusted


@pytest.mark.parametrize("key", sorted(SHIPPED))
@pytest.mark.parametrize("scale", [FOUR, THREE], ids=["4-level", "3-level"])
def test_profile_cut_scores_fit_any_district_scale(key: str, scale: ProficiencyScale) -> None:
    defaults = conversion_defaults(SHIPPED[key], [lv.code for lv in scale.levels],
                                   scale.proficient_code)
    conversion = ConversionSchema().load(defaults["score_conversion"])
    conversion.validate(scale)
    # Levels never go down as the vendor's score goes up.
    reached = [scale.levels.index(to_level(p, None, conversion, scale)) for p in range(101)]
    assert reached == sorted(reached)


def test_vendor_bands_land_where_the_vendor_says() -> None:
    def level(key: str, percent: float) -> str:
        conversion = ConversionSchema().load(
            conversion_defaults(SHIPPED[key], ["1", "2", "3", "4"], "3")["score_conversion"])
        return to_level(percent, None, conversion, FOUR).code

    assert [level("ixl-skill-scores", p) for p in (79, 80, 99, 100)] == ["2", "3", "3", "4"]
    khan = SHIPPED["khan-mastery"]
    percents = [read_row(khan, {"Student SIS ID": "S1", "Skill Name": "Rates",
                                "Current Skill Mastery Level": word}, source="k",
                         timezone="UTC", file_date=FILE_DATE)
                for word in ("Attempted", "familiar", "Proficient", "Mastered", "Not Started", "")]
    assert [p[1].score if p else None for p in percents] == [0, 50, 80, 100, None, None]
    assert [level("khan-mastery", p) for p in (0, 50, 80, 100)] == ["1", "2", "3", "4"]


def test_roles_name_levels_on_any_scale() -> None:
    assert [level_code(r, ["N", "P", "E"], "P") for r in
            ("lowest", "below", "proficient", "above", "highest", "E")] == \
        ["N", "N", "P", "E", "E", "E"]


@pytest.mark.parametrize(("cells", "field", "words"), [
    ({"Last practiced": "2026-10-02"}, "Last practiced", "%m/%d/%Y"),
    ({"Last practiced": ""}, "Last practiced", "required"),
    ({"SmartScore": "N/A"}, "SmartScore", "number"),
    ({"SmartScore": "101"}, "SmartScore", "between 0 and 100"),
    ({"Student ID": " "}, "Student ID", "required"),
    ({"Skill ID": ""}, "Skill ID", "required"),
])
def test_bad_cells_name_their_column(cells: dict[str, str], field: str, words: str) -> None:
    row = {"Student ID": "S1", "Skill ID": "F.7", "Skill": "Ratios", "Standard": "6.RP.A.1",
           "SmartScore": "85", "Last practiced": "10/02/2026", **cells}
    with pytest.raises(DataError) as caught:
        read_row(SHIPPED["ixl-skill-scores"], row, source="ixl", timezone="UTC")
    assert caught.value.context["field"] == field
    assert words in caught.value.message


def test_unknown_label_lists_what_is_understood() -> None:
    with pytest.raises(DataError, match="understood.*Familiar"):
        read_row(SHIPPED["khan-mastery"], {"Student SIS ID": "S1", "Skill Name": "Rates",
                                           "Current Skill Mastery Level": "Expert"},
                 source="k", timezone="UTC", file_date=FILE_DATE)


def test_missing_markers_caps_and_overrides() -> None:
    aleks = SHIPPED["aleks-knowledge-check"]
    base = {"Student ID": "S1", "Class Name": "Math 7",
            "Latest Knowledge - Knowledge Check Start Date": "01/04/2023"}
    assert read_row(aleks, {**base, "Latest Knowledge - Mastered (%)": "-"},
                    source="a", timezone="UTC") is None
    parsed = read_row(aleks, {**base, "Latest Knowledge - Mastered (%)": "35%"},
                      source="a", timezone="UTC")
    assert parsed is not None and parsed[1].score == 35
    st_math = SHIPPED["st-math-progress"]
    row = {"Student ID": "S1", "Objective ID": "O1", "Progress %": "130",
           "Last Played": "09/15/2026"}
    parsed = read_row(st_math, row, source="st", timezone="UTC")
    assert parsed is not None and parsed[1].score == 100
    renamed = SHIPPED["nwea-map-growth"].with_columns({"skill": "MeasurementScale"})
    parsed = read_row(renamed, {"StudentID": "S1", "MeasurementScale": "Mathematics",
                                "TestPercentile": "62", "TestStartDate": "9/16/2026"},
                      source="map", timezone="America/Denver")
    assert parsed is not None and parsed[0].sourced_id == "Mathematics"
    assert parsed[1].scored_at == datetime(2026, 9, 16, 6, tzinfo=UTC)


def test_file_name_dates() -> None:
    assert date_in_file_name("Cedar_MasteryProgressStudent_20260901_20260930.csv", "UTC") \
        == FILE_DATE
    assert date_in_file_name("export-2026-09-30.csv", "UTC") == FILE_DATE
    assert date_in_file_name("export-20261399.csv", "UTC") is None


def test_a_district_profile_is_checked_with_every_problem() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_profile("profile: mine\nvendor: V\ntitle: T\ncolumns: {student: ID}\n"
                      "evidence_type: homework\ncuts: []\n", "mine.yaml")
    message = caught.value.message
    assert "mine.yaml" in message and "evidence_type" in message and "cuts" in message
    with pytest.raises(ConfigurationError, match="'scale' score needs 'max'"):
        parse_profile("profile: p\nvendor: V\ntitle: T\nevidence_type: diagnostic\n"
                      "columns: {student: a, skill: b, score: c, date: d}\n"
                      "score: {kind: scale, min: 100}\ncuts: [{min_percent: 0, level: lowest}]\n",
                      "p.yaml")


def test_profiles_check_tries_an_export_before_a_sync(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from connector.cli.main import cli
    good = tmp_path / "Cedar_MasteryProgressStudent_20260901_20260930.csv"
    good.write_text("Student SIS ID,Skill Name,Current Skill Mastery Level\n"
                    "S1,Intro to rates,Familiar\nS2,Intro to rates,Expert\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["profiles", "check", "khan-mastery", str(good)])
    assert result.exit_code == 0, result.output
    assert "2 rows, 1 scores" in result.output and "'Expert'" in result.output
    renamed = tmp_path / "skills.tsv"
    renamed.write_text("Learner\tSkill ID\tSmartScore\tLast practiced\nS1\tF.7\t80\t10/01/2026\n",
                       encoding="utf-8")
    result = CliRunner().invoke(cli, ["profiles", "check", "ixl-skill-scores", str(renamed)])
    assert result.exit_code == 1 and "delimited by tabs" in result.output
