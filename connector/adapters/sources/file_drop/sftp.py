"""Fetch vendor exports from an SFTP server into the local inbox, host key checked.

The server must be in the district's ``known_hosts`` file: an unknown or changed
host key stops the pull before any credential is sent, because a student-data
export must never be handed to whoever answers on that address. A file is
downloaded under a hidden name and renamed when complete, so the inbox never
holds half a file; it is then moved to the server's archive folder, or, for a
read-only account, remembered by name, size and time so it is not fetched again.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import paramiko

from connector.errors import ConfigurationError, FatalSourceError, RetriableSourceError


@dataclass(frozen=True)
class SftpSettings:
    host: str
    port: int
    username: str
    known_hosts: Path
    remote_dir: str
    password: str | None = None
    private_key_file: Path | None = None
    remote_archive: str | None = None
    timeout: float = 30.0


@contextmanager
def connect(settings: SftpSettings) -> Iterator[paramiko.SFTPClient]:
    if not settings.known_hosts.is_file():
        raise ConfigurationError(f"known_hosts file not found: {settings.known_hosts}; add the "
                                 f"server's host key (ssh-keyscan -p {settings.port} "
                                 f"{settings.host}) after checking it with the vendor")
    client = paramiko.SSHClient()
    client.load_host_keys(str(settings.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    where = f"{settings.host}:{settings.port}"
    try:
        client.connect(settings.host, port=settings.port, username=settings.username,
                       password=settings.password,
                       key_filename=str(settings.private_key_file)
                       if settings.private_key_file else None,
                       timeout=settings.timeout, banner_timeout=settings.timeout,
                       auth_timeout=settings.timeout, allow_agent=False, look_for_keys=False)
    except paramiko.BadHostKeyException:
        client.close()
        raise FatalSourceError(f"SFTP server {where} presented a host key that does not match "
                               f"known_hosts: refusing to connect (the server changed, or "
                               f"someone is in between; confirm with the vendor)") from None
    except paramiko.AuthenticationException:
        client.close()
        raise FatalSourceError(f"SFTP server {where} refused the credentials for user "
                               f"{settings.username!r}") from None
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise FatalSourceError(f"SFTP server {where} is not in known_hosts: refusing to "
                                   f"connect to an unknown host") from None
        raise RetriableSourceError(f"SFTP server {where}: {exc}") from None
    except OSError as exc:
        client.close()
        raise RetriableSourceError(f"SFTP server {where} could not be reached: {exc}") from None
    try:
        yield client.open_sftp()
    finally:
        client.close()


def fetch(settings: SftpSettings, inbox: Path, *, pattern: str, settle_seconds: float,
          fetched: Mapping[str, Any]) -> dict[str, Any]:
    """Download settled remote files into ``inbox``; returns what a read-only pull remembers."""
    remembered = dict(fetched)
    inbox.mkdir(parents=True, exist_ok=True)
    with connect(settings) as sftp:
        try:
            entries = sftp.listdir_attr(settings.remote_dir)
        except OSError as exc:
            raise FatalSourceError(f"SFTP folder {settings.remote_dir!r} cannot be listed: "
                                   f"{exc}") from None
        now = time.time()
        for entry in sorted(entries, key=lambda e: (e.st_mtime or 0, e.filename)):
            name = entry.filename
            if (name.startswith(".") or Path(name).name != name or "\\" in name
                    or not stat.S_ISREG(entry.st_mode or 0)
                    or not fnmatchcase(name.lower(), pattern.lower())
                    or now - (entry.st_mtime or 0) < settle_seconds):
                continue
            signature = [entry.st_size, entry.st_mtime]
            if settings.remote_archive is None and remembered.get(name) == signature:
                continue
            remote = f"{settings.remote_dir.rstrip('/')}/{name}"
            _download(sftp, remote, inbox, name, entry.st_mtime or now)
            if settings.remote_archive is not None:
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                sftp.rename(remote, f"{settings.remote_archive.rstrip('/')}/{stamp}-{name}")
            else:
                remembered[name] = signature
    return remembered


def _download(sftp: paramiko.SFTPClient, remote: str, inbox: Path, name: str,
              modified: float) -> None:
    target = inbox / name
    n = 1
    while target.exists():  # an earlier download of the same name is still waiting
        target = inbox / f"{Path(name).stem}-{n}{Path(name).suffix}"
        n += 1
    partial = inbox / f".partial-{target.name}"
    sftp.get(remote, str(partial))
    os.utime(partial, (modified, modified))  # the vendor's time: settled, and in upload order
    os.replace(partial, target)
