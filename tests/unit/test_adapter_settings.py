"""Adapters' options as typed settings, and the per-course cursor every LMS source keeps."""

from __future__ import annotations

import dataclasses

import pytest
from marshmallow import ValidationError, fields

from connector.adapters.course_pass import CoursePass, CourseState
from connector.adapters.options import HttpOptions, HttpSettings, typed_options
from connector.adapters.registry import DESTINATIONS, SOURCES, destination_class, source_class
from connector.errors import ConfigurationError

ADAPTERS = [source_class(k) for k in sorted(SOURCES)] + [
    destination_class(k) for k in sorted(DESTINATIONS)]


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.kind)
def test_every_adapter_has_a_frozen_settings_type_with_its_schemas_keys(adapter: type) -> None:
    settings = adapter.settings_type
    assert dataclasses.is_dataclass(settings)
    assert settings.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert {f.name for f in dataclasses.fields(settings)} == set(adapter.options_schema().fields)
    # Defaults live in the schema alone: the dataclass restates none of them.
    assert all(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
               for f in dataclasses.fields(settings))


def test_missing_keys_take_the_schemas_defaults_and_a_missing_required_key_is_refused() -> None:
    loaded = typed_options(HttpSettings, HttpOptions(), {"base_url": "https://lms.example"})
    assert (loaded.timeout, loaded.retries, loaded.retry_delay) == (30.0, 4, 0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.timeout = 1.0  # type: ignore[misc]
    with pytest.raises(ConfigurationError, match="'base_url' is required"):
        typed_options(HttpSettings, HttpOptions(), {})


def test_a_settings_type_that_drifts_from_its_schema_fails_at_once() -> None:
    class Wider(HttpOptions):
        proxy = fields.String(load_default=None)

    with pytest.raises(TypeError, match="disagree on option keys: \\['proxy'\\]"):
        typed_options(HttpSettings, Wider(), {"base_url": "https://lms.example"})


def test_nested_settings_get_their_defaults_too() -> None:
    edfi = destination_class("edfi")
    loaded = typed_options(edfi.settings_type, edfi.options_schema(), {
        "base_url": "https://ods.example", "client_id": "${A}", "client_secret": "${B}",
        "education_organization_id": 255901, "school_year": 2026, "schools": {},
        "grading_period": {}, "objective_grade_level": "", "competency_levels": {},
        "grades": {"enabled": True}})
    assert loaded.grades == {"enabled": True, "learning_standard_id": "identifier",
                             "grade_type": "uri://ed-fi.org/GradeTypeDescriptor#Grading Period"}
    assert loaded.gradebook["enabled"] is False


def test_edfi_transcripts_options_default_to_ed_fis_descriptors_and_check_their_shape() -> None:
    schema = destination_class("edfi").options_schema()
    base = {"base_url": "https://ods.example", "client_id": "${A}", "client_secret": "${B}",
            "education_organization_id": 255901, "school_year": 2026, "schools": {},
            "grading_period": {"descriptor": "uri://ed-fi.org/GradingPeriodDescriptor#Q1",
                               "name": "Q1"},
            "objective_grade_level": "uri://ed-fi.org/GradeLevelDescriptor#Ninth grade",
            "competency_levels": {}}
    loaded = schema.load({**base, "transcripts": {"enabled": True}})
    assert loaded["transcripts"]["term_descriptor"] == "uri://ed-fi.org/TermDescriptor#Year Round"
    assert loaded["transcripts"]["not_earned_result"].endswith("#Incomplete")
    with pytest.raises(ValidationError, match="descriptors are URIs"):
        schema.load({**base, "transcripts": {"enabled": True, "earned_result": "Pass"}})
    with pytest.raises(ValidationError, match="would push nothing"):
        schema.load({**base, "competencies": False})


def test_course_state_round_trips_and_reads_cursors_stored_before_it_had_one_name() -> None:
    state = CourseState(since="2025-10-01T12:00:00Z", items=("1", "2"), scores=("9",))
    assert CourseState.from_json(state.to_json()) == state
    # Canvas stored "graded_since"; Schoology stored its mark as a Unix time.
    assert CourseState.from_json({"graded_since": "2025-10-01T12:00:00Z", "items": [1]}) == \
        CourseState(since="2025-10-01T12:00:00Z", items=("1",))
    assert CourseState.from_json({"since": 1759320000, "items": []}).since == "1759320000"
    assert CourseState.from_json({"since": 0}).since == ""


@pytest.mark.parametrize("stored", [
    {"graded_since": "2025-10-01T12:00:00Z", "items": ["7"]},  # Canvas, older form
    {"since": 1759320000, "items": ["7"]},                     # Schoology, older form
    {"since": "1759320000", "items": ["7"], "scores": []},      # either, today
])
def test_incremental_false_forgets_every_sources_mark_and_keeps_the_ids(
        stored: dict[str, object]) -> None:
    full = CoursePass()
    full.resume_from({"courses": {"c1": stored}, "pass_done": ["c1"]}, incremental=False)
    assert full.state("c1") == CourseState(items=("7",))
    again = CoursePass()
    again.resume_from({"courses": {"c1": stored}}, incremental=True)
    assert again.state("c1").since != ""
    again.read_in_full()
    assert again.state("c1").since == "" and again.state("c1").items == ("7",)
