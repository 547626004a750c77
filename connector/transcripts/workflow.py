"""The transcript workflow's rules: draft → reviewed → issued → superseded or revoked (pure).

Only an issued transcript is official. A draft is what the registrar checks; a
review says someone did; issuing freezes it. An issued version is never edited:
a correction is a new version that supersedes it, for a stated reason, and the old
one stays readable, because a college may hold a copy and ask what changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from connector.errors import ConnectorError

DRAFT, REVIEWED, ISSUED, SUPERSEDED, REVOKED = (
    "draft", "reviewed", "issued", "superseded", "revoked")
STATUSES = (DRAFT, REVIEWED, ISSUED, SUPERSEDED, REVOKED)
#: Versions still being prepared: a student has at most one.
OPEN = frozenset({DRAFT, REVIEWED})
#: Versions whose PDF and snapshot are frozen.
FROZEN = frozenset({ISSUED, SUPERSEDED, REVOKED})
#: What every unissued transcript carries across each page.
WATERMARK = "DRAFT"


class WorkflowError(ConnectorError):
    """A step that does not apply to the version as it is now (HTTP 409, CLI exit 1)."""


@dataclass(frozen=True)
class Step:
    """A workflow step asked of one version, with what the rules need to know."""

    status: str              # the version's status now
    version: int
    issued_version: int | None = None  # the student's version issued now, if any
    reason: str = ""


def after_review(step: Step) -> str:
    if step.status == REVIEWED:
        return REVIEWED  # asked twice: already done
    if step.status != DRAFT:
        raise WorkflowError(f"version {step.version} is {step.status}: only a draft is reviewed")
    return REVIEWED


def after_issue(step: Step) -> str:
    """Issue a reviewed version; over an issued one it is a re-issue, which needs a reason."""
    if step.status == DRAFT:
        raise WorkflowError(f"version {step.version} is a draft: review it before issuing it")
    if step.status != REVIEWED:
        raise WorkflowError(f"version {step.version} is {step.status}: only a reviewed draft "
                            "is issued")
    if step.issued_version is not None and not step.reason.strip():
        raise WorkflowError(f"version {step.issued_version} is issued: a re-issue supersedes "
                            "it and needs a reason")
    return ISSUED


def after_revoke(step: Step) -> str:
    if not step.reason.strip():
        raise WorkflowError("a revocation needs a reason")
    if step.status == REVOKED:
        return REVOKED
    if step.status != ISSUED:
        raise WorkflowError(f"version {step.version} is {step.status}: only the issued "
                            "version is revoked")
    return REVOKED


def watermark(status: str) -> str | None:
    """The mark a version's pages carry: none once issued."""
    return None if status in FROZEN else WATERMARK
