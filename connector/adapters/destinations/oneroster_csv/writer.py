"""Write changed mastery results as a OneRoster 1.2 CSV bundle, atomically, then verify it.

Layout decision (docs/decisions/0003): one line item per competency per class,
so a competency assessed in two classes appears in both gradebooks with the
same cross-class mastery level. The first push is a ``bulk`` bundle; later
pushes carry only changed results as ``delta`` files (status ``active`` and a
``dateLastModified``), which is what the OneRoster binding asks of deltas.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from marshmallow import Schema, fields

from connector.adapters.base import (
    DestinationAdapter,
    OutboundLineItem,
    OutboundResult,
    PushOutcome,
    PushPlan,
)
from connector.adapters.csvfiles import safe_cell
from connector.adapters.destinations.oneroster_csv.binding import HEADERS, MANIFEST_FILES
from connector.adapters.options import PathOption
from connector.errors import FatalDestinationError

CATEGORY_TITLE = "Competencies"


class OneRosterCsvResultsOptions(Schema):
    out = PathOption(kind="out_dir", required=True, metadata={"description": "directory for bundles"})
    zip = fields.Boolean(load_default=True)
    #: Cells starting = + - @ tab or CR get a leading ' so a spreadsheet shows them as text.
    #: Off only for a SIS importer that must receive such values exactly.
    formula_safe = fields.Boolean(load_default=True)


class OneRosterCsvResults(DestinationAdapter):
    """A OneRoster 1.2 gradebook results bundle a SIS can import."""

    kind = "oneroster_csv_results"
    options_schema = OneRosterCsvResultsOptions

    def check(self) -> str:
        """The bundle folder exists, or can be made, and a file can be written in it."""
        root = self.context.resolve_path(self.options["out"]) / self.key
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = root / f".check-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise FatalDestinationError(f"bundles cannot be written to {root}: "
                                        f"{exc.strerror or type(exc).__name__}") from None
        written = sorted(p.name for p in root.glob("*.zip"))
        last = f"; the last bundle is {written[-1]}" if written else "; no bundle written yet"
        return f"bundles can be written to {root}{last}"

    def push(self, plan: PushPlan) -> PushOutcome:
        if not plan.results:
            return PushOutcome(written=(), location="")
        root = self.context.resolve_path(self.options["out"]) / plan.destination
        root.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC)
        mode = "bulk" if plan.first_push else "delta"
        name = f"{stamp:%Y%m%dT%H%M%S%fZ}-{mode}"
        staging = root / f".{name}.partial"
        staging.mkdir()
        try:
            rows = build_rows(plan.results, mode, stamp)
            for file_name, file_rows in rows.items():
                write_csv(staging / file_name, HEADERS[file_name], file_rows,
                          formula_safe=self.options.get("formula_safe", True))
            write_manifest(staging / "manifest.csv", set(rows), mode,
                           plan.source_system_name)
            verify(staging, plan.results)
            final = root / name
            staging.rename(final)
        except BaseException:  # an interrupt too: never leave a half bundle
            shutil.rmtree(staging, ignore_errors=True)
            raise
        location = str(final)
        if self.options.get("zip", True):
            # Zip under a hidden name, then rename: a SIS polling the folder never sees half a zip.
            archive = final.with_suffix(".zip")
            partial = root / f".{archive.name}.partial"
            try:
                with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
                    for path in sorted(final.iterdir()):
                        zf.write(path, path.name)
                partial.rename(archive)
            except BaseException:  # an interrupt too: never leave a half bundle
                partial.unlink(missing_ok=True)
                shutil.rmtree(final, ignore_errors=True)
                raise
            location = str(archive)
        return PushOutcome(written=tuple(r.record_key for r in plan.results), location=location)


def build_rows(
    results: Sequence[OutboundResult], mode: str, stamp: datetime
) -> dict[str, list[dict[str, str]]]:
    """All rows of the bundle, keyed by file name."""
    status, modified = ("", "") if mode == "bulk" else ("active", _datetime(stamp))
    line_items: dict[str, OutboundLineItem] = {}
    for result in results:
        line_items.setdefault(result.line_item.sourced_id, result.line_item)
    category_id = _derived_id("category", CATEGORY_TITLE)
    common = {"status": status, "dateLastModified": modified}
    rows: dict[str, list[dict[str, str]]] = {
        "categories.csv": [{**common, "sourcedId": category_id, "title": CATEGORY_TITLE,
                            "weight": ""}],
        "lineItems.csv": [],
        "lineItemLearningObjectiveIds.csv": [],
        "results.csv": [],
        "resultLearningObjectiveIds.csv": [],
    }
    for item in sorted(line_items.values(), key=lambda i: i.sourced_id):
        rows["lineItems.csv"].append({
            **common,
            "sourcedId": item.sourced_id,
            "title": item.title,
            "description": item.description,
            "assignDate": item.assign_date.date().isoformat(),
            "dueDate": item.due_date.date().isoformat(),
            "classSourcedId": item.class_sourced_id,
            "categorySourcedId": category_id,
            "academicSessionSourcedId": item.academic_session_sourced_id,
            "resultValueMin": _num(item.result_value_min),
            "resultValueMax": _num(item.result_value_max),
            "schoolSourcedId": item.school_sourced_id,
        })
        rows["lineItemLearningObjectiveIds.csv"].append({
            **common,
            "sourcedId": _derived_id("lilo", item.sourced_id),
            "lineItemSourcedId": item.sourced_id,
            "source": "case",
            "learningObjectiveId": item.competency_identifier,
        })
    for result in sorted(results, key=lambda r: r.sourced_id):
        score = "" if result.score is None else _num(result.score)
        rows["results.csv"].append({
            **common,
            "sourcedId": result.sourced_id,
            "lineItemSourcedId": result.line_item.sourced_id,
            "studentSourcedId": result.student_sourced_id,
            "scoreStatus": result.score_status,
            "score": score,
            "scoreDate": result.score_date.date().isoformat(),
            "comment": result.comment,
            "textScore": result.text_score,
            "classSourcedId": result.line_item.class_sourced_id,
            "inProgress": "", "incomplete": "", "late": "", "missing": "",
        })
        rows["resultLearningObjectiveIds.csv"].append({
            **common,
            "sourcedId": _derived_id("rlo", result.sourced_id),
            "resultSourcedId": result.sourced_id,
            "source": "case",
            "learningObjectiveId": result.line_item.competency_identifier,
            "score": score,
            "textScore": result.text_score,
        })
    return rows


def write_csv(path: Path, header: Sequence[str], rows: Iterable[dict[str, str]], *,
              formula_safe: bool = True) -> None:
    """One bundle file; cells that would run as spreadsheet formulas are made text."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(header), lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: safe_cell(v) for k, v in row.items()} if formula_safe else row)


def write_manifest(path: Path, present: set[str], mode: str, system: str) -> None:
    rows = [("manifest.version", "1.0"), ("oneroster.version", "1.2")]
    for name in MANIFEST_FILES:
        rows.append((f"file.{name}", mode if f"{name}.csv" in present else "absent"))
    rows += [("source.systemName", system), ("source.systemCode", "mastery-connector")]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(("propertyName", "value"))
        writer.writerows(rows)


def verify(bundle: Path, results: Sequence[OutboundResult]) -> None:
    """Read the written results back; every planned result must be there exactly once."""
    expected = {r.sourced_id: r for r in results}
    seen: set[str] = set()
    with open(bundle / "results.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            sid = row["sourcedId"]
            if sid not in expected or sid in seen:
                raise FatalDestinationError(f"verification failed: unexpected result row {sid}")
            score = expected[sid].score
            wanted = "" if score is None else _num(score)
            if row["score"] != wanted:
                raise FatalDestinationError(f"verification failed: result {sid} score "
                                            f"{row['score']!r} != {wanted!r}")
            seen.add(sid)
    if seen != set(expected):
        raise FatalDestinationError(
            f"verification failed: {len(set(expected) - seen)} result(s) missing from results.csv")


def _num(value: float) -> str:
    return f"{value:g}"


def _datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _derived_id(kind: str, base: str) -> str:
    return f"mc-{kind}-" + hashlib.sha256(base.encode()).hexdigest()[:24]
