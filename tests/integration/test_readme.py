"""Every command of the README's quick start works as written on the sample district."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

#: Commands that run until stopped; each has tests of its own (API, scheduler).
LONG_RUNNING = ("CEDAR_RIDGE_API_TOKEN=change-me connector serve", "curl ",
                "http://127.0.0.1:8080", "connector scheduler")


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Quick start"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    return [line for line in lines if not line.startswith(". .venv")]


def test_every_quick_start_command_runs_as_written(tmp_path: Path) -> None:
    commands = quick_start()
    skipped = [c for c in commands if c.startswith(LONG_RUNNING)]
    assert len(skipped) == 4, skipped  # serve, the curl call over two lines, the scheduler
    workspace = tmp_path / "district"
    shutil.copytree(ROOT / "config", workspace / "config")
    (workspace / "examples").symlink_to(ROOT / "examples")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for name in ("CONNECTOR_DATABASE_URL", "CONNECTOR_CONFIG_DIR", "CONNECTOR_DISTRICT",
                 "CONNECTOR_DATA_DIR"):
        env.pop(name, None)
    for command in commands:
        if command in skipped:
            continue
        done = subprocess.run(["bash", "-c", command], cwd=workspace, env=env, text=True,
                              capture_output=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, command
    assert (workspace / "rejections.csv").read_text().startswith("file,row,field,reason,record")
    assert len(list((workspace / "out" / "transcripts").glob("*.pdf"))) == 350
