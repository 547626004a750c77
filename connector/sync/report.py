"""Run reports: what each stage of a run counted, and whether anything changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

#: Told where a run is: the stage's name, and records read so far (None as a stage starts).
Progress = Callable[[str, int | None], None]

SUCCEEDED = "succeeded"
WITH_REJECTIONS = "succeeded_with_rejections"
FAILED = "failed"
#: Stopped on purpose (a signal) or found dead (a kill); the reason says which.
INTERRUPTED = "interrupted"
#: Every status a finished run can have; "running" while it is in progress.
FINAL = (SUCCEEDED, WITH_REJECTIONS, FAILED, INTERRUPTED)
#: Asked for ("run now") and waiting for the scheduler to start it.
QUEUED = "queued"


@dataclass
class RunReport:
    run_id: int
    job: str
    district: str
    config_version: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    frameworks: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    mapping: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, int] = field(default_factory=dict)
    mastery: dict[str, Any] = field(default_factory=dict)
    push: list[dict[str, Any]] = field(default_factory=list)
    transcripts: dict[str, Any] = field(default_factory=dict)
    rejections: int = 0
    errors: list[str] = field(default_factory=list)
    #: What the run left out on purpose, and why (a push skipped after a failed stage).
    notes: list[str] = field(default_factory=list)
    #: Why the run stopped early (a signal), when it did.
    interrupted: str = ""
    changes: int = 0
    #: Seconds each stage took, so an operator can see where a slow night went.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    def summary_line(self) -> str:
        what = "no changes" if self.changes == 0 else f"{self.changes} change(s)"
        return (f"run {self.run_id} of job {self.job!r}: {self.status}, {what}, "
                f"{self.rejections} rejection(s)")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        data["summary"] = self.summary_line()
        return data
