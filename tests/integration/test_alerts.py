"""Alerts reach a real SMTP server and a webhook: once per event, retried, with no student data."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask, request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.config.loader import load_settings
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync.alerts import Alerts
from connector.sync.district import find_district
from tests.conftest import ROOT, make_workspace
from tests.fakes.server import serve
from tests.integration.test_run_lifecycle import edit


class Inbox:
    """An aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd needs a real port to check it started
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[list[dict[str, Any]], str]]:
    received: list[dict[str, Any]] = []
    headers: list[str] = []
    lock = threading.Lock()
    app = Flask("webhook")

    @app.post("/hooks/it")
    def hook() -> tuple[str, int]:
        with lock:
            received.append(request.get_json())
            headers.append(request.headers.get("Authorization", ""))
        return "", 204

    with serve(app) as base:
        yield received, f"{base}/hooks/it"
    assert all(h == "Bearer hook-secret" for h in headers)


# Alerts are about runs, not data: the tests sync the small sample (tests/conftest.py).
def configure(workspace: Path, port: int, url: str, **rules: Any) -> None:
    def district(data: dict[str, Any]) -> None:
        data["alerts"] = {
            "email": {"host": "127.0.0.1", "port": port, "security": "none",
                      "sender": "connector@cedar-ridge.example",
                      "to": ["it-alerts@cedar-ridge.example"]},
            "webhook": {"url": "${TEST_ALERT_WEBHOOK}",
                        "headers": {"Authorization": "${TEST_ALERT_WEBHOOK_AUTH}"}},
            **rules,
        }
    edit(workspace, "district.yaml", district)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, webhook: tuple[list[dict[str, Any]], str]) -> None:
    monkeypatch.setenv("TEST_ALERT_WEBHOOK", webhook[1])
    monkeypatch.setenv("TEST_ALERT_WEBHOOK_AUTH", "Bearer hook-secret")


def subject(mail: Message) -> str:
    """The subject unfolded (a long header is wrapped over lines on the wire)."""
    return str(mail["Subject"]).replace("\r", "").replace("\n", "").strip()


def text(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(mail.get_content_charset() or "utf-8")


def family_names() -> set[str]:
    users = (ROOT / "examples" / "sample-district" / "oneroster" / "users.csv").read_text()
    return {line.split(",")[7] for line in users.splitlines()[1:] if line.split(",")[7]}


def test_a_failed_run_reaches_email_and_webhook_once_without_student_names(
        tmp_path: Path, factory: sessionmaker[Session], smtp: tuple[Inbox, int],
        webhook: tuple[list[dict[str, Any]], str], env: None,
        small_sample: Path) -> None:
    inbox, port = smtp
    workspace = make_workspace(tmp_path, small_sample)
    configure(workspace, port, webhook[1])
    edit(workspace, "sources.yaml", lambda d: d["sources"][1].update(
        path="examples/sample-district/adaptive/not-delivered-yet.csv"))
    settings = load_settings(workspace / "config")
    report = definitions.run(factory, settings, "nightly-sync")
    assert report.status == "failed"

    (mail,) = inbox.messages
    assert subject(mail) == (f"[mastery-connector] cedar-ridge: job nightly-sync failed "
                               f"(run {report.run_id})")
    assert mail["To"] == "it-alerts@cedar-ridge.example"
    body = text(mail)
    assert "First reason: source practice-pal:" in body
    assert f"connector runs show {report.run_id}" in body
    (posted,) = webhook[0]
    assert posted["event"] == "run_failed" and posted["run_id"] == report.run_id
    assert posted["job"] == "nightly-sync" and posted["status"] == "failed"
    assert posted["reason"].startswith("source practice-pal:")
    assert posted["text"] == subject(mail)
    everything = body + str(posted)
    assert [n for n in family_names() if n in everything] == []
    assert "hook-secret" not in everything

    Alerts(factory, settings).after_run(report)  # the same event again: nothing new is sent
    assert len(inbox.messages) == 1 and len(webhook[0]) == 1


def test_rejections_above_the_threshold_alert(
        tmp_path: Path, factory: sessionmaker[Session], smtp: tuple[Inbox, int],
        webhook: tuple[list[dict[str, Any]], str], env: None,
        small_sample: Path) -> None:
    inbox, port = smtp
    workspace = make_workspace(tmp_path, small_sample)
    configure(workspace, port, webhook[1], rejections_above=1)
    report = definitions.run(factory, load_settings(workspace / "config"), "nightly-sync")
    assert report.status == "succeeded_with_rejections" and report.rejections == 2
    (mail,) = inbox.messages
    assert "rejected 2 records" in subject(mail)
    assert f"connector runs rejections {report.run_id} --csv" in text(mail)
    assert webhook[0][0]["event"] == "many_rejections" and webhook[0][0]["threshold"] == 1


def test_a_stale_job_alerts_once_per_episode_and_an_undelivered_alert_is_retried(
        tmp_path: Path, factory: sessionmaker[Session], smtp: tuple[Inbox, int],
        webhook: tuple[list[dict[str, Any]], str], env: None,
        small_sample: Path) -> None:
    inbox, port = smtp
    workspace = make_workspace(tmp_path, small_sample)
    configure(workspace, port, webhook[1], stale_after_hours=26)
    settings = load_settings(workspace / "config")
    report = definitions.run(factory, settings, "nightly-sync")
    assert not inbox.messages  # a good run alerts nobody
    soon = report.started_at + timedelta(hours=25)
    later = report.started_at + timedelta(hours=27)
    alerts = Alerts(factory, settings, clock=lambda: later)
    alerts.housekeeping(soon)
    assert not inbox.messages

    inbox.refuse = True  # the mail server is having a bad night
    alerts.housekeeping(later)
    assert not inbox.messages and len(webhook[0]) == 1
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        (row,) = session.scalars(select(m.Alert))
        assert row.status == "partial" and row.channels["webhook"] == "sent"
        assert "refused the message" in row.channels["email"]
        assert row.dedupe_key == f"stale:nightly-sync:{report.run_id}"

    inbox.refuse = False
    alerts.housekeeping(later + timedelta(minutes=1))  # retried: email now, webhook not again
    (mail,) = inbox.messages
    assert subject(mail) == ("[mastery-connector] cedar-ridge: job nightly-sync has not "
                               f"succeeded since {report.started_at.isoformat(timespec='minutes')}")
    assert len(webhook[0]) == 1
    alerts.housekeeping(later + timedelta(hours=5))  # still stale: the same episode
    assert len(inbox.messages) == 1


def test_the_daily_digest_goes_once_a_day_at_its_time(
        tmp_path: Path, factory: sessionmaker[Session], smtp: tuple[Inbox, int],
        webhook: tuple[list[dict[str, Any]], str], env: None,
        small_sample: Path) -> None:
    inbox, port = smtp
    workspace = make_workspace(tmp_path, small_sample)
    configure(workspace, port, webhook[1], digest="0 7 * * *", stale_after_hours=None)
    settings = load_settings(workspace / "config")
    definitions.run(factory, settings, "nightly-sync")
    alerts = Alerts(factory, settings)
    morning = datetime(2026, 12, 2, 14, 5, tzinfo=UTC)  # 07:05 in Denver
    alerts.housekeeping(morning - timedelta(minutes=10))  # 06:55: not yet
    assert not inbox.messages
    alerts.housekeeping(morning)
    alerts.housekeeping(morning + timedelta(hours=3))
    (mail,) = inbox.messages
    assert subject(mail) == ("[mastery-connector] cedar-ridge: daily summary 2026-12-02 "
                               "(all jobs fine)")
    body = text(mail)
    assert "- nightly-sync: succeeded_with_rejections, run 1" in body
    assert "- weekly-transcripts: never_run" in body
    assert webhook[0][-1]["event"] == "daily_digest"
