"""The atheris targets (fuzz/targets.py) run clean over the malformed corpus, their seeds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

SEEDS = {"users_csv": "oneroster-users", "results_csv": "oneroster-users",
         "case_package": "case", "xapi_statement": "xapi", "caliper_envelope": "caliper"}


def _targets() -> dict:  # type: ignore[type-arg]
    spec = importlib.util.spec_from_file_location("fuzz_targets", ROOT / "fuzz" / "targets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.TARGETS)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_each_target_runs_over_its_seeds_without_a_finding(name: str) -> None:
    target = _targets()[name]
    seeds = sorted(Path(FIXTURES / "malformed" / SEEDS[name]).glob("*.*"))
    assert len(seeds) > 20
    for seed in seeds:
        target(seed.read_bytes())  # any exception here is a finding
