"""Telling IT staff when something needs them: failed runs, many rejections, stale jobs, holds.

Each alert is one event with a stable key ("failure:12", "stale:nightly-sync:40"),
recorded in the ``alert`` table before it is sent. So an alert goes out once
per event, however often the scheduler looks; one that could not be delivered
(the mail server was down) is tried again on the next look, up to
:data:`MAX_ATTEMPTS` times. An alert carries the district, job, run id, counts
and the first reason the run gave: never a student's name or a record's content.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.notify import post_webhook, send_email
from connector.config.cron import missed_run, utc_now
from connector.config.model import AlertSettings, Settings
from connector.config.secrets import resolve_secret
from connector.errors import ConnectorError
from connector.logging_setup import redact
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync.district import ensure_district
from connector.sync.job_status import JobState, job_states
from connector.sync.report import FAILED, RunReport

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
#: A reason longer than this is cut: an alert is a pointer to ``runs show``, not the log.
REASON_CHARS = 300


@dataclass(frozen=True)
class AlertMessage:
    """One alert, as every channel sends it."""

    kind: str
    key: str
    subject: str
    text: str
    data: Mapping[str, Any] = field(default_factory=dict)
    job: str = ""
    run_id: int | None = None


def _reason(text: str) -> str:
    first = redact((text or "").strip().split("\n", 1)[0])
    return first if len(first) <= REASON_CHARS else first[:REASON_CHARS - 1] + "…"


def for_run(report: RunReport, rules: AlertSettings, district: str) -> list[AlertMessage]:
    """What a finished run calls for: a failure, too many rejections, pushes held."""
    found: list[AlertMessage] = []
    took = ((report.finished_at - report.started_at).total_seconds()
            if report.finished_at else None)
    base = {"district": district, "job": report.job, "run_id": report.run_id,
            "status": report.status, "started_at": report.started_at.isoformat(),
            "finished_at": report.finished_at.isoformat() if report.finished_at else None,
            "duration_seconds": round(took, 1) if took is not None else None,
            "changes": report.changes, "rejections": report.rejections}
    see = f"connector runs show {report.run_id}"
    if rules.on_failure and report.status == FAILED:
        reason = _reason(report.errors[0] if report.errors else "")
        found.append(AlertMessage(
            "failure", f"failure:{report.run_id}",
            f"[mastery-connector] {district}: job {report.job} failed (run {report.run_id})",
            f"Run {report.run_id} of job {report.job} in {district} failed"
            f"{f' after {took:.0f} s' if took is not None else ''}.\n"
            f"First reason: {reason}\n"
            f"{len(report.errors)} stage(s) failed; {report.rejections} record(s) rejected.\n"
            f"Details: {see}",
            {**base, "event": "run_failed", "reason": reason,
             "failed_stages": len(report.errors)}, report.job, report.run_id))
    limit = rules.rejections_above
    if limit is not None and report.rejections > limit:
        found.append(AlertMessage(
            "rejections", f"rejections:{report.run_id}",
            f"[mastery-connector] {district}: job {report.job} rejected {report.rejections} "
            f"records (run {report.run_id})",
            f"Run {report.run_id} of job {report.job} in {district} rejected "
            f"{report.rejections} records, more than the {limit} the alert settings allow.\n"
            f"The rejected rows, with file, row, field and reason: "
            f"connector runs rejections {report.run_id} --csv",
            {**base, "event": "many_rejections", "threshold": limit}, report.job, report.run_id))
    if rules.on_push_held:
        for push in report.push:
            if not push.get("held"):
                continue
            held = push["held"]
            found.append(AlertMessage(
                "push_held", f"push_held:{held['push_run']}",
                f"[mastery-connector] {district}: push to {push['destination']} held for "
                f"review (push run {held['push_run']})",
                f"Run {report.run_id} of job {report.job} planned a push to "
                f"{push['destination']} that is larger than its safety limits: {held['reason']}.\n"
                f"Nothing was sent. Review it with: connector push plan {push['destination']}\n"
                f"Then send it with: connector push approve {held['push_run']}  "
                f"(or drop it: connector push discard {held['push_run']})",
                {**base, "event": "push_held", "destination": push["destination"],
                 "push_run": held["push_run"], "counts": held.get("counts", {})},
                report.job, report.run_id))
    return found


def for_stale(states: list[JobState], district: str, now: datetime) -> list[AlertMessage]:
    """One alert per stale episode of each job (until its next success)."""
    found = []
    for state in states:
        if not state.stale:
            continue
        since = state.last_success_at
        episode = state.last_success_id or "never"
        when = f"since {since.isoformat(timespec='minutes')}" if since else "ever"
        last = state.last_run
        found.append(AlertMessage(
            "stale", f"stale:{state.job}:{episode}",
            f"[mastery-connector] {district}: job {state.job} has not succeeded {when}",
            f"Job {state.job} in {district} has not succeeded {when}, more than the "
            f"{state.stale_after_hours:g} hours allowed.\n"
            + (f"Its last run, {last.id}, {last.status}: {_reason(last.reason) or 'no reason'}\n"
               if last else "")
            + "Is the scheduler running? connector runs list --job " + state.job,
            {"event": "job_stale", "district": district, **state.as_dict(now)},
            state.job, last.id if last else None))
    return found


def digest(states: list[JobState], district: str, now: datetime, zone: str) -> AlertMessage:
    """The day's summary: every job's condition, last run and age."""
    day = now.astimezone(ZoneInfo(zone)).date().isoformat()
    lines = []
    for state in states:
        last = state.last_run
        lines.append(f"- {state.job}: {state.condition}"
                     + (f", run {last.id} started {last.started_at.isoformat(timespec='minutes')}"
                        f", {last.changes} change(s), {last.rejections} rejection(s)"
                        if last else ""))
    bad = sum(1 for s in states if s.condition in ("failed", "stale", "held"))
    return AlertMessage(
        "digest", f"digest:{day}",
        f"[mastery-connector] {district}: daily summary {day}"
        + (f" ({bad} job(s) need attention)" if bad else " (all jobs fine)"),
        f"Jobs of {district} on {day}:\n" + "\n".join(lines),
        {"event": "daily_digest", "district": district, "day": day,
         "jobs": [s.as_dict(now) for s in states]})


Sender = Callable[[AlertMessage], None]


class Alerts:
    """Decides, records and sends a district's alerts."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, *,
                 clock: Callable[[], datetime] = utc_now,
                 senders: Mapping[str, Sender] | None = None) -> None:
        self.factory = factory
        self.settings = settings
        self.rules = settings.district.alerts
        self.clock = clock
        self.senders: Mapping[str, Sender] = senders if senders is not None else \
            self._configured_senders()
        self._district_id: int | None = None

    @property
    def district_id(self) -> int:
        if self._district_id is None:
            self._district_id = ensure_district(self.factory, self.settings.district)
        return self._district_id

    def after_run(self, report: RunReport) -> None:
        """Send what a finished run calls for; never raises (a run's result stands)."""
        if not self.senders:
            return
        for message in for_run(report, self.rules, self.settings.district.key):
            self._deliver(message)

    def housekeeping(self, now: datetime) -> None:
        """The scheduler's regular look: stale jobs, the digest, alerts not yet delivered."""
        if not self.senders:
            return
        with tenant_session(self.factory, self.district_id) as session:
            states = job_states(session, self.settings, now)
        for message in for_stale(states, self.settings.district.key, now):
            self._deliver(message)
        if self.rules.digest and self._digest_due(now):
            self._deliver(digest(states, self.settings.district.key, now,
                                 self.settings.district.timezone))
        self._retry_undelivered()

    # -- internals ------------------------------------------------------------------

    def _configured_senders(self) -> dict[str, Sender]:
        senders: dict[str, Sender] = {}
        email, webhook = self.rules.email, self.rules.webhook
        if email is not None:
            def by_email(message: AlertMessage) -> None:
                send_email(host=email.host, port=email.port, security=email.security,
                           sender=email.sender, to=email.to, subject=message.subject,
                           body=message.text + "\n", timeout=email.timeout,
                           username=self._secret(email.username, "alert email username"),
                           password=self._secret(email.password, "alert email password"))
            senders["email"] = by_email
        if webhook is not None:
            def by_webhook(message: AlertMessage) -> None:
                url = self._secret(webhook.url, "alert webhook URL") or webhook.url
                headers = {name: self._secret(value, f"alert webhook header {name}") or ""
                           for name, value in webhook.headers.items()}
                post_webhook(url, {"text": message.subject, "summary": message.text,
                                   "kind": message.kind, **message.data},
                             headers=headers, timeout=webhook.timeout)
            senders["webhook"] = by_webhook
        return senders

    @staticmethod
    def _secret(reference: str | None, purpose: str) -> str | None:
        if not reference or not reference.startswith("${"):
            return None
        return resolve_secret(reference, purpose=purpose)

    def _digest_due(self, now: datetime) -> bool:
        with tenant_session(self.factory, self.district_id) as session:
            last = session.scalars(select(m.Alert.created_at).where(m.Alert.kind == "digest")
                                   .order_by(m.Alert.id.desc())).first()
        return missed_run(self.rules.digest or "", self.settings.district.timezone, last, now,
                          timedelta(hours=23)) is not None

    def _deliver(self, message: AlertMessage) -> None:
        with tenant_session(self.factory, self.district_id) as session:
            row = session.scalars(select(m.Alert).where(m.Alert.dedupe_key == message.key)).first()
            if row is not None:
                return  # already sent, or waiting for its retry
            row = m.Alert(kind=message.kind, dedupe_key=message.key, job=message.job,
                          run_id=message.run_id, subject=message.subject,
                          payload={"text": message.text, "data": dict(message.data)},
                          status="failed", channels={}, attempts=0)
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # another process recorded it first: it sends it
                session.rollback()
                return
            self._send(session, row, message)

    def _retry_undelivered(self) -> None:
        with tenant_session(self.factory, self.district_id) as session:
            rows = list(session.scalars(select(m.Alert).where(
                m.Alert.status.in_(("failed", "partial")), m.Alert.attempts < MAX_ATTEMPTS)
                .order_by(m.Alert.id)))
            for row in rows:
                payload = row.payload or {}
                message = AlertMessage(row.kind, row.dedupe_key, row.subject,
                                       str(payload.get("text", "")), payload.get("data", {}),
                                       row.job, row.run_id)
                self._send(session, row, message, only=[
                    name for name in self.senders if row.channels.get(name) != "sent"])

    def _send(self, session: Session, row: m.Alert, message: AlertMessage,
              only: list[str] | None = None) -> None:
        results = dict(row.channels or {})
        for name in only if only is not None else list(self.senders):
            try:
                self.senders[name](message)
                results[name] = "sent"
            except ConnectorError as exc:
                results[name] = exc.message
                log.warning("alert %s: %s failed: %s", row.dedupe_key, name, exc.message)
            except Exception as exc:  # a broken channel must not stop the schedule
                results[name] = f"unexpected {type(exc).__name__}"
                log.exception("alert %s: %s failed", row.dedupe_key, name)
        sent = [n for n in self.senders if results.get(n) == "sent"]
        row.channels = results
        row.attempts = (row.attempts or 0) + 1
        row.status = "sent" if len(sent) == len(self.senders) else ("partial" if sent else "failed")
        if sent and row.sent_at is None:
            row.sent_at = self.clock()
        session.commit()
