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
import json
import os
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from marshmallow import Schema, fields

from connector.adapters.base import (
    OutboundLineItem,
    OutboundResult,
    PushPlan,
    StagedBundle,
    StagedDestination,
)
from connector.adapters.csvfiles import safe_cell
from connector.adapters.destinations.oneroster_csv.binding import HEADERS, MANIFEST_FILES
from connector.adapters.options import PathOption
from connector.errors import FatalDestinationError

CATEGORY_TITLE = "Competencies"


class OneRosterCsvResultsOptions(Schema):
    out = PathOption(kind="out_dir", required=True, metadata={"description": "directory for bundles"})
    #: Write each bundle as one zip file (most SIS importers take one); off leaves a folder.
    zip = fields.Boolean(load_default=True)
    #: Cells starting = + - @ tab or CR get a leading ' so a spreadsheet shows them as text.
    #: Off only for a SIS importer that must receive such values exactly.
    formula_safe = fields.Boolean(load_default=True)


@dataclass(frozen=True, kw_only=True)
class OneRosterCsvResultsSettings:
    """:class:`OneRosterCsvResultsOptions`, typed."""

    out: str
    zip: bool
    formula_safe: bool


class OneRosterCsvResults(StagedDestination):
    """A OneRoster 1.2 gradebook results bundle a SIS can import."""

    kind = "oneroster_csv_results"
    options_schema = OneRosterCsvResultsOptions
    settings_type = OneRosterCsvResultsSettings
    settings: OneRosterCsvResultsSettings

    def check(self) -> str:
        """The bundle folder exists, or can be made, and a file can be written in it."""
        root = self.context.resolve_path(self.settings.out) / self.key
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

    def stage(self, plan: PushPlan, digest: str) -> StagedBundle:
        """Write, verify and zip the bundle under hidden names; the marker file goes last.

        A bundle is complete once its ``.<name>.staged.json`` marker exists: whatever
        is found without one was cut off while being written.
        """
        root = self._root()
        root.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC)
        mode = "bulk" if plan.first_push else "delta"
        name = f"{stamp:%Y%m%dT%H%M%S%fZ}-{mode}"
        folder, archive, marker = self._paths(root, name)
        zipped = self.settings.zip
        staged = StagedBundle(name=name, digest=digest, first_push=plan.first_push,
                              location=str(root / (f"{name}.zip" if zipped else name)))
        folder.mkdir()
        try:
            rows = build_rows(plan.results, mode, stamp)
            for file_name, file_rows in rows.items():
                write_csv(folder / file_name, HEADERS[file_name], file_rows,
                          formula_safe=self.settings.formula_safe)
            write_manifest(folder / "manifest.csv", set(rows), mode, plan.source_system_name)
            verify(folder, plan.results)
            if zipped:
                with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
                    for path in sorted(folder.iterdir()):
                        zf.write(path, path.name)
            written = root / f".{name}.staged.tmp"
            written.write_text(json.dumps({"name": name, "digest": digest,
                                           "first_push": plan.first_push,
                                           "location": staged.location}))
            written.rename(marker)
        except BaseException:  # an interrupt too: never leave a half bundle
            self.discard(staged)
            raise
        return staged

    def publish(self, staged: StagedBundle) -> None:
        root = self._root()
        folder, archive, marker = self._paths(root, staged.name)
        if folder.exists():
            folder.rename(root / staged.name)
        if archive.exists():
            archive.rename(root / f"{staged.name}.zip")
        marker.unlink(missing_ok=True)

    def leftovers(self) -> list[StagedBundle]:
        root = self._root()
        if not root.is_dir():
            return []
        found = []
        for marker in sorted(root.glob(".*.staged.json")):
            data = json.loads(marker.read_text())
            found.append(StagedBundle(name=data["name"], location=data["location"],
                                      digest=data["digest"], first_push=data["first_push"]))
        complete = {s.name for s in found}
        for path in root.glob(".*"):
            name = path.name[1:].split(".", 1)[0]
            if name not in complete and path.name.endswith((".partial", ".staged.tmp")):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        return found

    def discard(self, staged: StagedBundle) -> None:
        folder, archive, marker = self._paths(self._root(), staged.name)
        shutil.rmtree(folder, ignore_errors=True)
        archive.unlink(missing_ok=True)
        (folder.parent / f".{staged.name}.staged.tmp").unlink(missing_ok=True)
        marker.unlink(missing_ok=True)

    def _root(self) -> Path:
        return Path(self.context.resolve_path(self.settings.out)) / self.key

    @staticmethod
    def _paths(root: Path, name: str) -> tuple[Path, Path, Path]:
        """The hidden folder, the hidden zip and the marker of bundle ``name``."""
        return (root / f".{name}.partial", root / f".{name}.zip.partial",
                root / f".{name}.staged.json")


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
