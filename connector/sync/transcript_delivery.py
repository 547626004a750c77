"""Hand issued transcripts to the district's delivery targets: a folder, or a service's SFTP.

Districts send transcripts to colleges through transcript services that pick files up
from a drop folder. Each issued version goes as its frozen PDF and its PESC XML; a
re-issue goes as the new version's files (the PESC says ``Reissue``); a revocation as a
small JSON notice naming the version and why. Every file is written under a hidden
name and renamed when complete, so a service never reads half a transcript, and is
recorded once sent (:class:`~connector.persistence.models.TranscriptDelivery`), so
running delivery again sends only what is new, even after the service took the files
away. A target that fails is reported and the others go on; what it did not take is
sent by the next run.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.adapters.sources.file_drop import sftp
from connector.config.model import DeliveryTarget, Settings
from connector.config.secrets import resolve_secret
from connector.errors import ConfigurationError, ConnectorError
from connector.persistence import models as m
from connector.persistence.models import utcnow
from connector.sync import transcript_documents as docs
from connector.transcripts import workflow as wf
from connector.transcripts.service import safe_file_stem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """One file a target has not had yet."""

    document: m.TranscriptDocument
    name: str
    content: Callable[[], bytes]


@dataclass
class DeliveryReport:
    sent: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def _files(settings: Settings, target: DeliveryTarget, document: m.TranscriptDocument
           ) -> Iterator[Outgoing]:
    stem = f"{safe_file_stem(document.student_sis_id)}-v{document.version}"
    if "pdf" in target.formats:
        yield Outgoing(document, f"{stem}.pdf", lambda: docs.pdf_of(document))
    if "pesc" in target.formats:
        yield Outgoing(document, f"{stem}.xml", lambda: docs.export_pesc(settings, document))
    if document.status == wf.REVOKED:
        yield Outgoing(document, f"{stem}.revoked.json", lambda: _notice(document))


def _notice(document: m.TranscriptDocument) -> bytes:
    """What a service needs to withdraw a transcript it holds: which one, when, why."""
    return (json.dumps({
        "notice": "transcript revoked", "student": document.student_sis_id,
        "version": document.version, "issued_at": document.issued_at.isoformat()
        if document.issued_at else None,
        "revoked_at": document.closed_at.isoformat() if document.closed_at else None,
        "reason": document.reason, "pdf_sha256": document.pdf_sha256,
    }, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def outgoing(session: Session, settings: Settings, target: DeliveryTarget) -> list[Outgoing]:
    """Files of issued (or since superseded or revoked) versions the target has not had."""
    sent = set(session.scalars(select(m.TranscriptDelivery.file_name).where(
        m.TranscriptDelivery.target == target.key)))
    frozen = session.scalars(select(m.TranscriptDocument).where(
        m.TranscriptDocument.status.in_(sorted(wf.FROZEN)))
        .order_by(m.TranscriptDocument.issued_at, m.TranscriptDocument.id))
    return [f for d in frozen for f in _files(settings, target, d) if f.name not in sent]


class _Writer(Protocol):
    """Writes one file atomically into a target: under a hidden name, then renamed."""

    def write(self, name: str, content: bytes) -> None: ...


class _FolderWriter:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder

    def write(self, name: str, content: bytes) -> None:
        partial = self.folder / f".{name}.part"
        partial.write_bytes(content)
        os.replace(partial, self.folder / name)


class _SftpWriter:
    def __init__(self, client: Any, folder: str) -> None:
        self.client, self.folder = client, folder.rstrip("/") or "."

    def write(self, name: str, content: bytes) -> None:
        partial, final = f"{self.folder}/.{name}.part", f"{self.folder}/{name}"
        self.client.putfo(io.BytesIO(content), partial, confirm=True)
        try:
            self.client.rename(partial, final)
        except OSError:
            # SFTP v3 never renames over a file: one left by a run that stopped between
            # its rename and its record. Same name, same version: replace it.
            self.client.remove(final)
            self.client.rename(partial, final)


@contextmanager
def _writer(settings: Settings, target: DeliveryTarget) -> Iterator[_Writer]:
    if target.kind == "folder":
        yield _FolderWriter(settings.resolve_path(target.folder))
        return
    password = (resolve_secret(target.password, purpose=f"delivery {target.key} SFTP password")
                if target.password else None)
    options = sftp.SftpSettings(
        host=target.host, port=target.port, username=target.username,
        known_hosts=settings.resolve_path(target.known_hosts), remote_dir=target.folder,
        password=password, private_key_file=settings.resolve_path(target.private_key_file)
        if target.private_key_file else None)
    with sftp.connect(options) as client:
        yield _SftpWriter(client, target.folder)


def deliver(session: Session, settings: Settings, *, only: Sequence[str] = (),
            clock: Callable[[], datetime] = utcnow) -> DeliveryReport:
    """Send every target what it has not had; each file is recorded as it is sent.

    Each file's record commits on its own, so a failure part way keeps what was sent
    (the caller's session is committed as it goes).
    """
    targets = [t for t in settings.district.transcript.delivery if not only or t.key in only]
    unknown = sorted(set(only) - {t.key for t in targets})
    if unknown:
        raise ConfigurationError(f"no delivery target {', '.join(unknown)} in "
                                 "transcript.delivery")
    report = DeliveryReport()
    for target in targets:
        report.sent[target.key] = []
        pending = outgoing(session, settings, target)
        if not pending:
            continue
        try:
            with _writer(settings, target) as writer:
                for item in pending:
                    content = item.content()
                    writer.write(item.name, content)
                    session.add(m.TranscriptDelivery(
                        target=target.key, file_name=item.name, document_id=item.document.id,
                        sha256=hashlib.sha256(content).hexdigest(), delivered_at=clock()))
                    try:
                        session.commit()
                    except IntegrityError:
                        session.rollback()  # another delivery run recorded it first
                        continue
                    report.sent[target.key].append(item.name)
        except (ConnectorError, OSError) as exc:
            message = exc.message if isinstance(exc, ConnectorError) else f"{exc}"
            report.failed[target.key] = message
            log.warning("transcript delivery to %s failed after %d file(s): %s", target.key,
                        len(report.sent[target.key]), message)
    return report
