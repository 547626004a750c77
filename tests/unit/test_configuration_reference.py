"""docs/configuration.md is what the schemas say, and says it for every file and adapter kind."""

from __future__ import annotations

from connector.adapters.registry import DESTINATIONS, SOURCES
from connector.config.reference import render
from tests.conftest import ROOT


def test_the_configuration_reference_is_current() -> None:
    written = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert written == render(), (
        "docs/configuration.md is out of date: run "
        "python -m connector.config.reference > docs/configuration.md")


def test_the_reference_covers_every_file_and_kind_with_defaults_and_samples() -> None:
    text = render()
    for heading in ("## district.yaml", "## sources.yaml", "## destinations.yaml",
                    "## jobs.yaml", *(f"### kind: {k}" for k in (*SOURCES, *DESTINATIONS))):
        assert heading in text, heading
    rows = {line.split("|")[1].strip(): line for line in text.splitlines()
            if line.startswith("| `")}
    # A default, a meaning and the sample district's value, where each exists.
    assert "`\"UTC\"`" in rows["`district.timezone`"]
    assert "`\"America/Denver\"`" in rows["`district.timezone`"]
    assert "Work not turned in" in rows["`mastery.missing_work`"]
    assert "`label` \\| `points` \\| `mastery`" in next(
        v for k, v in rows.items() if "rubric_ratings" in k)
    assert "required" in rows["`scale.levels`"]


def test_every_key_of_every_file_and_adapter_kind_says_what_it_means() -> None:
    from connector.adapters.registry import destination_class, source_class
    from connector.config.reference import rows
    from connector.config.schemas import DestinationSchema, DistrictFileSchema, JobSchema, SourceSchema

    schemas = [("district.yaml", DistrictFileSchema()), ("sources.yaml", SourceSchema()),
               ("destinations.yaml", DestinationSchema()), ("jobs.yaml", JobSchema())]
    schemas += [(f"source {k}", source_class(k).options_schema()) for k in SOURCES]
    schemas += [(f"destination {k}", destination_class(k).options_schema()) for k in DESTINATIONS]
    silent = [f"{where}: {row.key}" for where, schema in schemas for row in rows(schema)
              if not row.meaning.strip()]
    assert silent == []
