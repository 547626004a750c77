"""A real SSH/SFTP server on localhost for tests, serving one folder (paramiko's server side).

It speaks the SSH protocol for real: the client checks its host key, authenticates
by password or public key, and uses SFTP v3 (list, stat, read, write, rename, remove)
against a temporary folder; a read-only account may only list, stat and read.
``host_key`` is the server's key, to be written to a known_hosts file, or not, by
the test.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
from paramiko.sftp import SFTP_FAILURE, SFTP_NO_SUCH_FILE, SFTP_OK, SFTP_PERMISSION_DENIED


class _Server(paramiko.ServerInterface):
    def __init__(self, username: str, password: str, attempts: list[str]) -> None:
        self.username, self.password = username, password
        self.attempts = attempts

    def check_auth_password(self, username: str, password: str) -> int:
        self.attempts.append(username)
        ok = username == self.username and password == self.password
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED if kind == "session" \
            else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class _Handle(paramiko.SFTPHandle):
    def stat(self) -> Any:
        opened = getattr(self, "readfile", None) or self.writefile
        return paramiko.SFTPAttributes.from_stat(os.fstat(opened.fileno()))


def _folder_sftp(root: Path, read_only: bool) -> type[paramiko.SFTPServerInterface]:
    class FolderSftp(paramiko.SFTPServerInterface):
        def _path(self, path: str) -> Path:
            resolved = (root / path.lstrip("/")).resolve()
            if resolved != root and root not in resolved.parents:
                raise PermissionError(path)
            return resolved

        def list_folder(self, path: str) -> Any:
            try:
                folder = self._path(path)
                out = []
                for name in sorted(os.listdir(folder)):
                    attrs = paramiko.SFTPAttributes.from_stat(os.stat(folder / name))
                    attrs.filename = name
                    out.append(attrs)
                return out
            except FileNotFoundError:
                return SFTP_NO_SUCH_FILE
            except OSError:
                return SFTP_FAILURE

        def stat(self, path: str) -> Any:
            try:
                return paramiko.SFTPAttributes.from_stat(os.stat(self._path(path)))
            except FileNotFoundError:
                return SFTP_NO_SUCH_FILE

        lstat = stat

        def open(self, path: str, flags: int, attr: Any) -> Any:
            if flags & (os.O_WRONLY | os.O_RDWR):
                if read_only:
                    return SFTP_PERMISSION_DENIED
                # An upload, as a transcript service's drop folder takes one.
                handle = _Handle(flags)
                handle.writefile = open(self._path(path), "wb")  # noqa: SIM115 - SFTP closes it
                handle.filename = path
                return handle
            try:
                handle = _Handle(flags)
                handle.readfile = open(self._path(path), "rb")  # noqa: SIM115 - SFTP closes it
                handle.filename = path
                return handle
            except FileNotFoundError:
                return SFTP_NO_SUCH_FILE

        def rename(self, oldpath: str, newpath: str) -> int:
            if read_only:
                return SFTP_PERMISSION_DENIED
            target = self._path(newpath)
            if target.exists():  # SFTP v3: rename never overwrites
                return SFTP_FAILURE
            os.rename(self._path(oldpath), target)
            return SFTP_OK

        def remove(self, path: str) -> int:
            if read_only:
                return SFTP_PERMISSION_DENIED
            os.remove(self._path(path))
            return SFTP_OK

    return FolderSftp


@dataclass
class FakeSftp:
    root: Path
    port: int
    host_key: paramiko.RSAKey
    username: str = "vendor"
    password: str = "s3cret-pass"
    logins: list[str] = field(default_factory=list)
    #: Every password login attempt the server saw (user names only).
    auth_attempts: list[str] = field(default_factory=list)

    def known_hosts_line(self, key: paramiko.PKey | None = None) -> str:
        key = key or self.host_key
        return f"[127.0.0.1]:{self.port} {key.get_name()} {key.get_base64()}\n"


@contextmanager
def serve_sftp(root: Path, *, read_only: bool = False) -> Iterator[FakeSftp]:
    """Serve ``root`` over SFTP on 127.0.0.1 until the block ends."""
    host_key = paramiko.RSAKey.generate(2048)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    fake = FakeSftp(root.resolve(), listener.getsockname()[1], host_key)
    stop = threading.Event()
    transports: list[paramiko.Transport] = []

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(host_key)
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer,
                                            _folder_sftp(fake.root, read_only))
            try:
                transport.start_server(server=_Server(fake.username, fake.password,
                                                      fake.auth_attempts))
            except (paramiko.SSHException, EOFError, OSError):
                continue
            transports.append(transport)
            fake.logins.append("connection")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        stop.set()
        listener.close()
        for transport in transports:
            transport.close()
        thread.join(timeout=5)
