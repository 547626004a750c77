"""Vendor exports picked up from a drop folder, read through a vendor profile.

Each settled file in the inbox is hashed first. A file whose content was read
before (the vendor re-sent yesterday's export, or an operator dropped it twice)
is archived as a duplicate and changes nothing. Otherwise its rows are streamed
through the profile; the file's hash is recorded in the source's cursor by a
:class:`Checkpoint`, in the same transaction as its last records, and only
then is the file moved to ``archive/`` with a report. A file that cannot be
read at all (wrong delimiter, missing columns, not UTF-8, empty) goes to
``quarantine/`` with the reason, and is not remembered: dropped again after a
fix, it is read.

A run killed mid-file leaves the file in the inbox; the next run reads it
again, and staging's upserts make the second read change only what the first
did not commit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from connector.adapters.base import (
    AdapterContext,
    Checkpoint,
    Envelope,
    PathResolver,
    SourceAdapter,
)
from connector.adapters.options import PathOption, SecretRef
from connector.adapters.sources.file_drop import sftp
from connector.adapters.sources.file_drop.inbox import DropFile, LocalInbox, content_sha256
from connector.adapters.vendor_profiles.export import read_export
from connector.adapters.vendor_profiles.profile import (
    COLUMN_ROLES,
    STUDENT_MATCH,
    VendorProfile,
    conversion_defaults,
    date_in_file_name,
    find_profile,
)
from connector.errors import ConfigurationError, FatalSourceError, Rejection

#: Rejections kept in a file's report; the run's rejection table holds them all.
REPORT_REJECTIONS = 200


class SftpOptions(Schema):
    #: The vendor's SFTP server.
    host = fields.String(required=True)
    #: Its SSH port.
    port = fields.Integer(load_default=22, validate=validate.Range(min=1, max=65535))
    #: The account the vendor gave the district.
    username = fields.String(required=True)
    #: The account's password; give this or ``private_key_file``.
    password = SecretRef(load_default=None)
    #: A private key file to sign in with instead of a password (owner-readable only).
    private_key_file = PathOption(kind="file", load_default=None)
    #: An OpenSSH known_hosts file holding the server's host key; required, never skipped.
    known_hosts = PathOption(kind="file", required=True)
    #: The folder on the server the exports appear in.
    remote_dir = fields.String(load_default=".")
    #: Move fetched files here on the server; without it they are left and remembered.
    remote_archive = PathOption(kind="out_dir", load_default=None)

    @validates_schema
    def check_credentials(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("password") or data.get("private_key_file")):
            raise ValidationError("give a password (environment reference) or private_key_file",
                                  "password")


class FileDropOptions(Schema):
    #: The vendor profile that reads the exports: a shipped one (``ixl-skill-scores``,
    #: ``iready-diagnostic``, ...) or the district's own YAML file.
    profile = fields.String(required=True)
    #: Column names that differ from the profile's, by role (``student: Student Number``).
    columns = fields.Dict(keys=fields.String(validate=validate.OneOf(COLUMN_ROLES)),
                          values=fields.String(), load_default=dict)
    #: The folder the vendor's exports are dropped in.
    inbox = PathOption(kind="dir", required=True)
    #: Where read files go, each with a report; empty means ``archive/`` in the inbox.
    archive = PathOption(kind="out_dir", load_default=None)
    #: Where unreadable files go, each with the reason; empty means ``quarantine/`` in the inbox.
    quarantine = PathOption(kind="out_dir", load_default=None)
    #: Which files in the inbox are exports (a shell pattern).
    pattern = fields.String(load_default="*.csv")
    #: Files younger than this are still being written by the vendor's upload: next run.
    settle_seconds = fields.Float(load_default=30.0, validate=validate.Range(min=0))
    #: Values for roles the export has no column for, e.g. ``{skill: iready-math}``.
    fixed = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    #: How the student column names the student, when not as the profile says (``sourced_id``,
    #: ``username``, ``email``, ``identifier``).
    student_match = fields.String(load_default=None, validate=validate.OneOf(STUDENT_MATCH))
    #: A ``strptime`` format for the date column, when not the profile's.
    date_format = fields.String(load_default=None)
    #: Read at most this many files per run (0: all); the rest wait, oldest first, for the
    #: next run. A first load of very large exports then takes one file per run.
    max_files_per_run = fields.Integer(load_default=0, validate=validate.Range(min=0))
    #: Fetch from an SFTP server into ``inbox`` first (host key checked against known_hosts).
    sftp = fields.Nested(SftpOptions, load_default=None)


@dataclass(frozen=True, kw_only=True)
class FileDropSettings:
    """:class:`FileDropOptions`, typed; ``sftp`` as :class:`SftpOptions` loads it."""

    profile: str
    columns: Mapping[str, str]
    inbox: str
    archive: str | None
    quarantine: str | None
    pattern: str
    settle_seconds: float
    fixed: Mapping[str, str]
    student_match: str | None
    date_format: str | None
    max_files_per_run: int
    sftp: Mapping[str, Any] | None


class FileDropSource(SourceAdapter):
    """Every new export in a drop folder, read through one vendor profile."""

    kind = "file_drop"
    options_schema = FileDropOptions
    settings_type = FileDropSettings
    settings: FileDropSettings
    profile_option: ClassVar[str] = "profile"

    def __init__(self, key: str, options: Mapping[str, Any], context: AdapterContext) -> None:
        super().__init__(key, options, context)
        self._files: dict[str, dict[str, Any]] = {}
        self._fetched: dict[str, Any] = {}

    @classmethod
    def config_defaults(cls, entry: Mapping[str, Any], resolve_path: PathResolver,
                        codes: Sequence[str], proficient: str) -> dict[str, Any]:
        """The profile's evidence type, DOK and cut scores, unless the source sets its own."""
        name = entry.get(cls.profile_option)
        if not isinstance(name, str):
            return {}
        return conversion_defaults(find_profile(name, resolve_path), codes, proficient)

    def profile(self) -> VendorProfile:
        s = self.settings
        profile = find_profile(s.profile, self.context.resolve_path)
        profile = profile.with_columns(s.columns)
        changes: dict[str, Any] = {k: v for k, v in (("student_match", s.student_match),
                                                     ("date_format", s.date_format)) if v}
        if s.fixed:
            changes["fixed"] = {**profile.fixed, **s.fixed}
        if changes:
            profile = replace(profile, **changes)
        return profile

    def _inbox(self) -> LocalInbox:
        s = self.settings
        inbox = self.context.resolve_path(s.inbox)
        return LocalInbox(
            inbox,
            self.context.resolve_path(s.archive) if s.archive else inbox / "archive",
            self.context.resolve_path(s.quarantine) if s.quarantine else inbox / "quarantine",
            pattern=s.pattern, settle_seconds=s.settle_seconds)

    def _sftp_settings(self) -> sftp.SftpSettings:
        given = self.settings.sftp
        assert given is not None
        password = given["password"]
        key_file = given["private_key_file"]
        return sftp.SftpSettings(
            host=given["host"], port=given["port"], username=given["username"],
            known_hosts=self.context.resolve_path(given["known_hosts"]),
            remote_dir=given["remote_dir"], remote_archive=given["remote_archive"],
            password=self.context.resolve_secret(password, f"source {self.key} SFTP password")
            if password else None,
            private_key_file=self.context.resolve_path(key_file) if key_file else None)

    def fingerprint(self) -> str:
        waiting = list(self._inbox().waiting())
        return f"{len(waiting)} file(s) waiting, {sum(f.size for f in waiting)} bytes"

    def resume_from(self, cursor: Mapping[str, Any]) -> None:
        self._files = dict(cursor.get("files", {}))
        self._fetched = dict(cursor.get("fetched", {}))

    def cursor(self) -> Mapping[str, Any]:
        return {"files": self._files, "fetched": self._fetched}

    def check(self) -> str:
        """The profile loads, the drop folder is there; with SFTP, sign in and list the folder."""
        profile = self.profile()
        said = [f"profile {profile.key} loads"]
        if self.settings.sftp:
            settings = self._sftp_settings()
            with sftp.connect(settings) as client:
                try:
                    names = client.listdir(settings.remote_dir)
                except OSError as exc:
                    raise FatalSourceError(
                        f"SFTP server {settings.host}: folder {settings.remote_dir!r} cannot be "
                        f"listed: {exc.strerror or type(exc).__name__}") from None
            said.append(f"signed in to SFTP {settings.host} as {settings.username}; "
                        f"{len(names)} file(s) in {settings.remote_dir}")
        inbox = self._inbox()
        if inbox.inbox.is_dir():
            said.append(f"drop folder {inbox.inbox}: {self.fingerprint()}")
        elif not self.settings.sftp:
            raise ConfigurationError(f"drop folder not found: {inbox.inbox}")
        return "; ".join(said)

    def read(self) -> Iterator[Envelope | Rejection | Checkpoint]:
        profile = self.profile()
        inbox = self._inbox()
        if self.settings.sftp:
            self._fetched = sftp.fetch(self._sftp_settings(), inbox.inbox,
                                       pattern=self.settings.pattern,
                                       settle_seconds=self.settings.settle_seconds,
                                       fetched=self._fetched)
        if not inbox.inbox.is_dir():  # a typo in the path must not look like "no new files"
            raise ConfigurationError(f"drop folder not found: {inbox.inbox}")
        limit = self.settings.max_files_per_run
        for n, file in enumerate(inbox.waiting()):
            if limit and n >= limit:
                return  # the rest wait for the next run
            yield from self._one_file(inbox, profile, file)

    def _one_file(self, inbox: LocalInbox, profile: VendorProfile,
                  file: DropFile) -> Iterator[Envelope | Rejection | Checkpoint]:
        sha = content_sha256(file.path)
        if profile.date_from_file_name:
            # Dated by its name: the same bytes for another period are another export.
            dated = date_in_file_name(file.name, self.context.timezone)
            sha = f"{sha}@{dated.date().isoformat()}" if dated else sha
        report: dict[str, Any] = {
            "file": file.name, "sha256": sha, "bytes": file.size, "profile": profile.key,
            "source": self.key, "read_at": datetime.now(UTC).isoformat(timespec="seconds")}
        earlier = self._files.get(sha)
        if earlier is not None:
            report.update(outcome="duplicate", note=(
                f"same content as {earlier['file']!r}, read {earlier['read_at']}; nothing read"))
            inbox.settle(file, sha, "duplicate", report)
            return
        counts = {"rows": 0, "scores": 0, "skipped_blank": 0, "rejected": 0}
        kept: list[dict[str, Any]] = []
        fatal: Rejection | None = None
        for item in self._rows(profile, file, counts):
            if isinstance(item, Rejection):
                counts["rejected"] += 1
                if len(kept) < REPORT_REJECTIONS:
                    kept.append({"row": item.row, "field": item.field, "reason": item.reason})
                if item.row == 1:  # the header: nothing in the file can be read
                    fatal = item
            yield item
        report.update(counts, rejections=kept)
        if fatal is not None or (counts["rows"] and counts["rows"] == counts["rejected"]):
            report.update(outcome="quarantined", reason=(
                fatal.reason if fatal else "no row could be read; check the profile's columns, "
                "date format and score meaning"))
            inbox.settle(file, sha, "quarantined", report)
            return
        self._files[sha] = {"file": file.name, "read_at": report["read_at"],
                            "rows": counts["rows"], "rejected": counts["rejected"]}
        # Committed with the file's last records; only then does the file leave the inbox.
        yield Checkpoint(self.cursor())
        report["outcome"] = "archived"
        inbox.settle(file, sha, "archived", report)

    def _rows(self, profile: VendorProfile, file: DropFile,
              counts: dict[str, int]) -> Iterator[Envelope | Rejection]:
        skills: set[str] = set()
        for read in read_export(profile, file.path, source=self.key,
                                timezone=self.context.timezone):
            if isinstance(read, Rejection):
                counts["rows"] += (read.row or 0) > 1
                yield read
                continue
            counts["rows"] += 1
            if read is None:
                counts["skipped_blank"] += 1
                continue
            if read.item.sourced_id not in skills:
                skills.add(read.item.sourced_id)
                yield Envelope(read.item, file.name, read.row)
            counts["scores"] += 1
            yield Envelope(read.score, file.name, read.row)
