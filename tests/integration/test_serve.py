"""``connector serve`` runs the API under gunicorn: it answers, logs no query string, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests

from connector.serving import gunicorn_options
from tests.conftest import make_workspace
from tests.integration.test_run_lifecycle import read_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_api_runs_under_gunicorn_with_a_timeout_and_no_query_in_its_log(
        tmp_path: Path, db_url: str) -> None:
    workspace = make_workspace(tmp_path)
    port = free_port()
    env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(workspace / "config"),
           "CONNECTOR_DATABASE_URL": db_url, "CEDAR_RIDGE_API_TOKEN": "change-me"}
    command = [sys.executable, "-m", "connector.cli.main", "serve", "--port", str(port),
               "--workers", "1", "--timeout", "7"]
    with subprocess.Popen(command, cwd=workspace, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        try:
            read_until(process.stderr, "Booting worker", lines=20)
            base = f"http://127.0.0.1:{port}"
            assert requests.get(f"{base}/healthz?t=s3cret-t0ken", timeout=30).status_code == 200
            wrong = requests.get(f"{base}/api/v1/districts/cedar-ridge/students/S100001/mastery",
                                 headers={"Authorization": "Bearer nope"}, timeout=30)
            assert wrong.status_code == 401
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, err
    log = out + err
    assert '"GET /healthz HTTP/1.1" 200' in log
    assert "s3cret-t0ken" not in log and "nope" not in log
    assert "Shutting down" in log


def test_gunicorn_gets_the_timeout_and_a_log_format_without_query_strings() -> None:
    options = gunicorn_options(host="0.0.0.0", port=8080, workers=4, timeout=30)
    assert (options["bind"], options["workers"], options["timeout"]) == ("0.0.0.0:8080", 4, 30)
    assert "%(U)s" in options["access_log_format"] and "%(r)s" not in options["access_log_format"]
