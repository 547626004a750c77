"""The drop-folder source alone: SFTP fetches with host keys checked, files read once, a limit a run."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from connector.adapters.base import AdapterContext, Checkpoint, Envelope
from connector.adapters.sources.file_drop import FileDropSource
from connector.adapters.vendor_profiles import shipped_profiles
from connector.domain.records import Score
from connector.errors import FatalSourceError
from connector.sample.vendor_exports import SampleSkill, write
from tests.fakes.sftp_server import FakeSftp, serve_sftp

PROFILE = shipped_profiles()["ixl-skill-scores"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FakeSftp]:
    (tmp_path / "remote" / "outbox").mkdir(parents=True)
    (tmp_path / "remote" / "done").mkdir()
    with serve_sftp(tmp_path / "remote") as fake:
        yield fake


def _export(server: FakeSftp, name: str, *, age: float = 120, seed: int = 7) -> Path:
    path = server.root / "outbox" / name
    write(path, PROFILE, ["S100001", "S100002"], [SampleSkill("F.7", "Ratios", "6.RP.A.1")], 6,
          seed=seed)
    when = time.time() - age
    os.utime(path, (when, when))
    return path


def _source(tmp_path: Path, server: FakeSftp, *, known: str | None = None,
            password: str | None = None, archive: bool = True) -> FileDropSource:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(server.known_hosts_line() if known is None else known)
    os.environ["TEST_SFTP_PASSWORD"] = password or server.password
    options = FileDropSource.options_schema().load({
        "profile": "ixl-skill-scores", "inbox": str(tmp_path / "inbox"), "settle_seconds": 60,
        "sftp": {"host": "127.0.0.1", "port": server.port, "username": server.username,
                 "password": "${TEST_SFTP_PASSWORD}", "known_hosts": str(known_hosts),
                 "remote_dir": "/outbox", **({"remote_archive": "/done"} if archive else {})}})
    return FileDropSource("ixl", options, AdapterContext(
        Path, "UTC", lambda ref, _: os.environ[ref.strip("${}")]))


def _scores(source: FileDropSource) -> list[Score]:
    out = []
    for entry in source.read():
        if isinstance(entry, Envelope) and isinstance(entry.record, Score):
            out.append(entry.record)
        assert not isinstance(entry, Checkpoint) or "files" in entry.cursor
    return out


def test_files_are_fetched_read_and_moved_to_the_servers_archive(
        tmp_path: Path, server: FakeSftp) -> None:
    _export(server, "skills-mon.csv")
    _export(server, "skills-tue.csv", seed=9)
    _export(server, "skills-still-uploading.csv", age=1)
    source = _source(tmp_path, server)
    assert len(_scores(source)) == 12
    assert sorted(p.name for p in (server.root / "outbox").iterdir()) == \
        ["skills-still-uploading.csv"]
    assert sorted(p.name.split("-", 1)[1] for p in (server.root / "done").iterdir()) == \
        ["skills-mon.csv", "skills-tue.csv"]
    archived = list((tmp_path / "inbox" / "archive").glob("*.csv"))
    assert len(archived) == 2 and not list((tmp_path / "inbox").glob(".partial-*"))
    again = _source(tmp_path, server)
    again.resume_from(source.cursor())
    assert _scores(again) == []


def test_a_read_only_account_leaves_files_and_fetches_each_version_once(
        tmp_path: Path, server: FakeSftp) -> None:
    path = _export(server, "skills.csv")
    first = _source(tmp_path, server, archive=False)
    assert len(_scores(first)) == 6
    assert path.exists()
    second = _source(tmp_path, server, archive=False)
    second.resume_from(first.cursor())
    assert _scores(second) == []
    assert not list((tmp_path / "inbox").glob("*.csv"))  # not even downloaded again
    _export(server, "skills.csv", seed=12, age=90)  # the vendor replaced it since
    third = _source(tmp_path, server, archive=False)
    third.resume_from(second.cursor())
    assert len(_scores(third)) == 6


def test_an_unknown_host_is_refused_before_any_credential_is_sent(
        tmp_path: Path, server: FakeSftp) -> None:
    _export(server, "skills.csv")
    with pytest.raises(FatalSourceError, match="not in known_hosts"):
        _scores(_source(tmp_path, server, known=""))
    other = paramiko.RSAKey.generate(2048)
    with pytest.raises(FatalSourceError, match="does not match known_hosts"):
        _scores(_source(tmp_path, server, known=server.known_hosts_line(other)))
    assert server.auth_attempts == []  # the password never left this machine
    assert (server.root / "outbox" / "skills.csv").exists()
    assert not (tmp_path / "inbox").exists() or not list((tmp_path / "inbox").iterdir())


def test_wrong_credentials_fail_clearly_without_the_secret(tmp_path: Path,
                                                          server: FakeSftp) -> None:
    _export(server, "skills.csv")
    with pytest.raises(FatalSourceError) as caught:
        _scores(_source(tmp_path, server, password="wrong-pass-123"))
    assert "refused the credentials" in str(caught.value)
    assert "wrong-pass-123" not in str(caught.value)


def test_the_password_must_be_an_environment_reference(tmp_path: Path) -> None:
    from marshmallow import ValidationError
    options: dict[str, Any] = {"profile": "ixl-skill-scores", "inbox": "x", "sftp": {
        "host": "h", "username": "u", "password": "plain-text", "known_hosts": "k"}}
    with pytest.raises(ValidationError, match="environment reference"):
        FileDropSource.options_schema().load(options)


def test_at_most_so_many_files_per_run(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    for n, name in enumerate(["a.csv", "b.csv", "c.csv"]):
        write(inbox / name, PROFILE, ["S100001"], [SampleSkill("F.7", "Ratios")], 2, seed=n)
        when = time.time() - 300 + n  # a is oldest
        os.utime(inbox / name, (when, when))
    options = FileDropSource.options_schema().load(
        {"profile": "ixl-skill-scores", "inbox": str(inbox), "settle_seconds": 0,
         "max_files_per_run": 2})
    source = FileDropSource("ixl", options, AdapterContext(Path, "UTC"))
    assert len(_scores(source)) == 4
    assert [p.name for p in inbox.glob("*.csv")] == ["c.csv"]
    later = FileDropSource("ixl", options, AdapterContext(Path, "UTC"))
    later.resume_from(source.cursor())
    assert len(_scores(later)) == 2 and not list(inbox.glob("*.csv"))
