"""Read a OneRoster CSV bundle in dependency order, streaming each file.

Order: orgs, academicSessions, courses, classes, users (+ demographics),
enrollments, categories, lineItems (with lineItemLearningObjectiveIds), results,
resultLearningObjectiveIds. The manifest decides which files count: a file the
manifest calls ``absent`` is ignored even if present, and a file it lists but
the bundle lacks is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from marshmallow import Schema, fields, validate

from connector.adapters.base import Envelope, SourceAdapter
from connector.adapters.bundle import Bundle
from connector.adapters.csvfiles import CsvRow, MissingColumns, read_rows
from connector.adapters.oneroster import parse
from connector.adapters.options import PathOption
from connector.adapters.values import required
from connector.domain.records import LearningObjectiveRef, Record
from connector.errors import DataError, FatalSourceError, Rejection

MANIFEST = "manifest.csv"
REQUIRED = {
    "orgs.csv": ("sourcedId", "name", "type"),
    "academicSessions.csv": ("sourcedId", "title", "type"),
    "courses.csv": ("sourcedId", "title"),
    "classes.csv": ("sourcedId", "title", "courseSourcedId", "schoolSourcedId"),
    "users.csv": ("sourcedId", "givenName", "familyName"),
    "roles.csv": ("userSourcedId", "role"),
    "demographics.csv": ("sourcedId",),
    "enrollments.csv": ("sourcedId", "classSourcedId", "userSourcedId", "role"),
    "categories.csv": ("sourcedId", "title"),
    "lineItems.csv": ("sourcedId", "title", "classSourcedId"),
    "lineItemLearningObjectiveIds.csv": ("lineItemSourcedId", "source", "learningObjectiveId"),
    "results.csv": ("sourcedId", "lineItemSourcedId", "studentSourcedId", "scoreStatus", "score"),
    "resultLearningObjectiveIds.csv": ("sourcedId", "resultSourcedId", "source",
                                       "learningObjectiveId", "score"),
}


class OneRosterCsvOptions(Schema):
    path = PathOption(kind="file_or_dir", required=True,
                      metadata={"description": "zip file or directory"})
    #: The files' text encoding; ``utf-8-sig`` also reads UTF-8 with a byte-order mark.
    encoding = fields.String(load_default="utf-8-sig")
    #: The OneRoster version of the bundle; ``auto`` reads it from ``manifest.csv``.
    version = fields.String(load_default="auto", validate=validate.OneOf(["auto", "1.1", "1.2"]))


@dataclass(frozen=True, kw_only=True)
class OneRosterCsvSettings:
    """:class:`OneRosterCsvOptions`, typed."""

    path: str
    encoding: str
    version: str


class OneRosterCsvSource(SourceAdapter):
    """A OneRoster CSV export, as SIS and LMS gradebooks produce it."""

    kind = "oneroster_csv"
    options_schema = OneRosterCsvOptions
    settings_type = OneRosterCsvSettings
    settings: OneRosterCsvSettings
    #: A line item without resultValueMax says nothing of its scale: 15 is not 15%.
    scores_without_maximum = "reject"

    def fingerprint(self) -> str:
        bundle = Bundle(self.context.resolve_path(self.settings.path))
        try:
            return bundle.describe()
        finally:
            bundle.close()

    def input_digest(self) -> str | None:
        bundle = Bundle(self.context.resolve_path(self.settings.path))
        try:
            return bundle.digest()
        finally:
            bundle.close()

    def check(self) -> str:
        """The bundle opens (a folder, or a zip that is not cut short) and has a manifest."""
        bundle = Bundle(self.context.resolve_path(self.settings.path))
        try:
            files = bundle.names()
            described = bundle.describe()
        finally:
            bundle.close()
        if "manifest.csv" not in files:
            raise FatalSourceError(f"{described} has no manifest.csv: is it a OneRoster CSV "
                                   f"bundle?")
        return f"the OneRoster bundle opens: {described}"

    def read(self) -> Iterator[Envelope | Rejection]:
        bundle = Bundle(self.context.resolve_path(self.settings.path))
        try:
            yield from self._read(bundle)
        finally:
            bundle.close()

    # -- internals ---------------------------------------------------------------

    def _read(self, bundle: Bundle) -> Iterator[Envelope | Rejection]:
        wanted, manifest_rejections = self._manifest(bundle)
        yield from manifest_rejections
        src, tz = self.key, self.context.timezone

        def present(name: str) -> bool:
            return name in wanted and bundle.has(name)

        plain: list[tuple[str, Callable[[CsvRow], Record]]] = [
            ("orgs.csv", lambda r: parse.org(r, src)),
            ("academicSessions.csv", lambda r: parse.academic_session(r, src)),
            ("courses.csv", lambda r: parse.course(r, src)),
            ("classes.csv", lambda r: parse.class_section(r, src)),
        ]
        for name, parser in plain:
            if present(name):
                yield from self._file(bundle, name, parser)

        if present("users.csv"):
            roles: dict[str, tuple[str, str]] = {}
            if present("roles.csv"):
                yield from self._collect_roles(bundle, roles)
            elif present("enrollments.csv"):
                self._roles_from_enrollments(bundle, roles)

            def person(row: CsvRow) -> Record:
                role, org = roles.get(row.get("sourcedId"), ("unknown", ""))
                return parse.person(row, src, row.get("role") or role, org)

            yield from self._file(bundle, "users.csv", person)
        for name, parser in (
            ("demographics.csv", lambda r: parse.demographics(r, src)),
            ("enrollments.csv", lambda r: parse.enrollment(r, src)),
            ("categories.csv", lambda r: parse.category(r, src)),
        ):
            if present(name):
                yield from self._file(bundle, name, parser)

        objectives: dict[str, list[LearningObjectiveRef]] = {}
        if present("lineItemLearningObjectiveIds.csv"):
            yield from self._collect_objectives(bundle, objectives)
        if present("lineItems.csv"):
            yield from self._file(bundle, "lineItems.csv", lambda r: parse.line_item(
                r, src, tz, tuple(objectives.get(r.get("sourcedId"), ()))))
        if present("results.csv"):
            yield from self._file(bundle, "results.csv", lambda r: parse.result(r, src, tz))
        if present("resultLearningObjectiveIds.csv"):
            yield from self._file(bundle, "resultLearningObjectiveIds.csv",
                                  lambda r: parse.result_objective(r, src))

    def _rows(self, bundle: Bundle, name: str) -> Iterator[CsvRow | Rejection]:
        try:
            yield from read_rows(bundle.opener(name), name, required_columns=REQUIRED.get(name, ()),
                                 encoding=self.settings.encoding)
        except MissingColumns as exc:
            yield exc.rejection

    def _file(
        self, bundle: Bundle, name: str, parser: Callable[[CsvRow], Record]
    ) -> Iterator[Envelope | Rejection]:
        seen: dict[str, int] = {}
        for row in self._rows(bundle, name):
            if isinstance(row, Rejection):
                yield row
                continue
            key = row.get("sourcedId")
            if key and key in seen:
                yield Rejection(name, row.row, "sourcedId",
                                f"duplicate sourcedId {key!r}; the row {seen[key]} copy is kept", key)
                continue
            try:
                record = parser(row)
            except DataError as exc:
                yield Rejection(name, row.row, str(exc.context.get("field", "")), exc.message, key)
                continue
            if key:
                seen[key] = row.row
            yield Envelope(record, name, row.row)

    def _manifest(self, bundle: Bundle) -> tuple[set[str], list[Rejection]]:
        """Files to read. Without a manifest, read what is there (and say so in the rejections)."""
        data_files = set(REQUIRED)
        if not bundle.has(MANIFEST):
            return data_files, [Rejection(MANIFEST, None, "", "bundle has no manifest.csv; the "
                                          "files present were read as bulk files")]
        rejections: list[Rejection] = []
        wanted: set[str] = set()
        properties: dict[str, str] = {}
        for row in self._rows(bundle, MANIFEST):
            if isinstance(row, Rejection):
                rejections.append(row)
                continue
            prop, value = row.get("propertyName"), row.get("value")
            properties[prop] = value
            if prop.startswith("file."):
                name = prop[len("file."):] + ".csv"
                if value in ("bulk", "delta"):
                    wanted.add(name)
                    if not bundle.has(name):
                        rejections.append(Rejection(MANIFEST, row.row, "value",
                                                    f"manifest lists {name} as {value} but the "
                                                    f"bundle has no such file"))
                elif value == "absent" and bundle.has(name) and name in data_files:
                    rejections.append(Rejection(name, None, "", "manifest marks this file absent; "
                                                "it was not read"))
        # roles.csv decides student vs staff in 1.2, so read it whenever it is there.
        if bundle.has("roles.csv") and properties.get("file.roles", "bulk") != "absent":
            wanted.add("roles.csv")
        return wanted, rejections

    def _collect_roles(self, bundle: Bundle,
                       roles: dict[str, tuple[str, str]]) -> Iterator[Rejection]:
        """1.2 keeps each user's role (and the org it holds it at) in roles.csv."""
        for row in self._rows(bundle, "roles.csv"):
            if isinstance(row, Rejection):
                yield row
                continue
            user = row.get("userSourcedId")
            if row.get("roleType") == "primary" or user not in roles:
                roles[user] = (row.get("role"), row.get("orgSourcedId"))

    def _roles_from_enrollments(self, bundle: Bundle, roles: dict[str, tuple[str, str]]) -> None:
        """No role column and no roles.csv: a user enrolled as a student is a student.

        Bad enrollment rows are reported when enrollments.csv itself is read.
        """
        for row in self._rows(bundle, "enrollments.csv"):
            if isinstance(row, CsvRow) and (row.get("role") == "student"
                                            or row.get("userSourcedId") not in roles):
                roles[row.get("userSourcedId")] = (row.get("role"), row.get("schoolSourcedId"))

    def _collect_objectives(
        self, bundle: Bundle, objectives: dict[str, list[LearningObjectiveRef]]
    ) -> Iterator[Rejection]:
        name = "lineItemLearningObjectiveIds.csv"
        for row in self._rows(bundle, name):
            if isinstance(row, Rejection):
                yield row
                continue
            try:
                ref = parse.learning_objective(row)
                item = required(row.get("lineItemSourcedId"), "lineItemSourcedId")
            except DataError as exc:
                yield Rejection(name, row.row, str(exc.context.get("field", "")), exc.message)
                continue
            objectives.setdefault(item, []).append(ref)
