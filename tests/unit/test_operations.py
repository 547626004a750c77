"""Operational pieces: log redaction, the sample's determinism."""

from __future__ import annotations

import filecmp
import logging
from pathlib import Path

from connector.logging_setup import RedactingFilter, redact
from connector.sample.generator import generate
from tests.conftest import ROOT


def test_redaction_masks_tokens_in_messages_and_args() -> None:
    assert redact("GET /courses?access_token=abc.def&per_page=100") == \
        "GET /courses?access_token=********&per_page=100"
    record = logging.LogRecord("x", logging.WARNING, __file__, 1,
                               "call failed: %s", ("Authorization: Bearer sk_live_123",), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "call failed: Authorization: Bearer ********"
    assert "sk_live_123" not in record.getMessage()


def test_sample_is_deterministic_and_matches_the_shipped_examples(tmp_path: Path) -> None:
    generate(tmp_path / "sample", students=150, seed=2026, high_school_students=200)
    shipped = ROOT / "examples" / "sample-district"
    produced = sorted(p.relative_to(tmp_path / "sample") for p in (tmp_path / "sample").rglob("*")
                      if p.is_file())
    assert produced == sorted(p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file())
    mismatched = [str(p) for p in produced
                  if not filecmp.cmp(tmp_path / "sample" / p, shipped / p, shallow=False)]
    assert mismatched == [], "regenerate with `make sample` and commit the result"


def test_sample_size_and_seed_change_the_students_not_the_framework(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", students=20, seed=1)
    b = generate(tmp_path / "b", students=20, seed=2)
    assert a["students"] == b["students"] == 20 and a["results"] == b["results"]
    assert (tmp_path / "a" / "case" / "cedar-ridge-math-ela.json").read_bytes() == \
        (tmp_path / "b" / "case" / "cedar-ridge-math-ela.json").read_bytes()
    assert (tmp_path / "a" / "oneroster" / "users.csv").read_bytes() != \
        (tmp_path / "b" / "oneroster" / "users.csv").read_bytes()


def test_push_score_status_per_state() -> None:
    from connector.sync.push import _score_status

    assert [_score_status(s) for s in ("level", "exempt", "insufficient_evidence", "not_yet")] == \
        ["fully graded", "exempt", "partially graded", "partially graded"]
