"""The batch path stores exactly what the scalar engine would, for every policy it covers."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.evidence import EvidencePiece
from connector.domain.scale import ProficiencyScale, round_half_up
from connector.mastery import batch
from connector.mastery.engine import compute_mastery
from connector.mastery.policy import MasteryPolicy
from connector.mastery.record import RECORD_FIELDS, context_word, evidence_word, input_digest
from connector.persistence import batch_text
from connector.sync.compute import record_values
from tests.strategies import EVIDENCE_TYPES, method_parameters, scales, values_on

DAY0 = datetime(2025, 9, 1, 12, tzinfo=UTC)
ENGINE = "batch-test"


@st.composite
def policies(draw: st.DrawFn, scale: ProficiencyScale) -> MasteryPolicy:
    method = draw(st.sampled_from(sorted(batch.BATCH_METHODS)))
    adaptive = draw(st.sampled_from(["count", "cap", "exclude"]))
    return MasteryPolicy(
        method=method, parameters=draw(method_parameters(method)),
        min_evidence=draw(st.integers(1, 3)), dok_gate=draw(st.booleans()),
        qualifying_evidence_types=draw(st.frozensets(st.sampled_from(EVIDENCE_TYPES), min_size=1)),
        adaptive=adaptive,
        adaptive_max_level=draw(st.sampled_from(scale.levels)).code if adaptive == "cap" else None,
        adaptive_types=draw(st.frozensets(st.sampled_from(EVIDENCE_TYPES), min_size=1)))


@st.composite
def pieces(draw: st.DrawFn, scale: ProficiencyScale) -> tuple[EvidencePiece, str]:
    # few distinct days, so ties on every date (and the key tie-break) happen often
    day = DAY0 + timedelta(days=draw(st.integers(0, 4)))
    maybe = st.one_of(st.none(), st.integers(0, 4).map(lambda d: DAY0 + timedelta(days=d)))
    piece = EvidencePiece(
        key=draw(st.sampled_from(["a", "b", "c", "d"])),
        value=draw(values_on(scale)), observed_at=day,
        dok=draw(st.one_of(st.none(), st.integers(1, 4))),
        evidence_type=draw(st.sampled_from(EVIDENCE_TYPES)),
        weight=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
        submitted_at=draw(maybe), due_at=draw(maybe))
    return piece, f"{draw(st.integers(0, 2**64 - 1)):016x}" + "0" * 48


@st.composite
def districts(draw: st.DrawFn) -> tuple[ProficiencyScale, MasteryPolicy, int | None,
                                        list[list[tuple[EvidencePiece, str]]]]:
    scale = draw(scales())
    drawn = draw(st.lists(st.lists(pieces(scale), min_size=1, max_size=7), min_size=1, max_size=6))
    serial = iter(range(10_000))  # keys unique, in a random order relative to the dates
    pairs = [[(replace(p, key=f"{p.key}:{next(serial):03d}"), h) for p, h in group]
             for group in drawn]
    return scale, draw(policies(scale)), draw(st.one_of(st.none(), st.integers(1, 4))), pairs


def columns(pairs: list[list[tuple[EvidencePiece, str]]],
            arrival: str = "reversed") -> tuple[batch.Columns, np.ndarray]:
    rows = [(i, p, h) for i, group in enumerate(pairs) for p, h in group]
    if arrival == "reversed":
        rows.reverse()
    elif arrival == "chronological":  # as a store usually hands them over: the fast path
        rows.sort(key=lambda r: (r[0], r[1].observed_at))
    micros = [int((p.observed_at - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1e6)
              for _, p, _ in rows]

    def when(moment: datetime | None, fallback: int) -> int:
        if moment is None:
            return fallback
        return int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1e6)
    return batch.Columns(
        pair=np.array([i for i, _, _ in rows], dtype=np.int64),
        evidence_id=np.arange(len(rows), dtype=np.int64) + 1,
        value=np.array([p.value for _, p, _ in rows], dtype=float),
        assessed=np.array(micros, dtype=np.int64),
        submitted=np.array([when(p.submitted_at, t) for (_, p, _), t in zip(rows, micros,
                                                                             strict=True)]),
        due=np.array([when(p.due_at, t) for (_, p, _), t in zip(rows, micros, strict=True)]),
        key=np.array([p.key for _, p, _ in rows], dtype=object),
        dok=np.array([p.dok or 0 for _, p, _ in rows], dtype=np.int64),
        kind=np.array([batch.TYPE_CODES.index(p.evidence_type) for _, p, _ in rows]),
        weight=np.array([p.weight for _, p, _ in rows], dtype=float),
    ), batch.words(np.array([h for _, _, h in rows]))


@settings(max_examples=300, deadline=None)
@given(districts(), st.sampled_from(["reversed", "chronological", "as drawn"]))
def test_batch_records_equal_scalar_records(case: Any, arrival: str) -> None:
    scale, policy, target, pairs = case
    cols, words = columns(pairs, arrival)
    out = batch.compute(cols, scale=scale, policy=policy, target_dok=target)
    records = batch.to_records(out, cols, scale=scale, policy=policy, target_dok=target,
                               engine_version=ENGINE)
    context = context_word(ENGINE, policy.version, target, "scale", "")
    digests = batch.digests(out, words, context)
    assert out.pairs.tolist() == list(range(len(pairs)))
    eids = {key: int(e) for key, e in zip(cols.key.tolist(), cols.evidence_id.tolist(), strict=True)}
    for index, group in enumerate(pairs):
        result = compute_mastery([p for p, _ in group], scale=scale, policy=policy,
                                 target_dok=target, engine_version=ENGINE)
        expected = record_values(result, eids, scale, None)
        assert records[index] == expected and tuple(records[index]) == RECORD_FIELDS
        hashes = {p.key: h for p, h in group}
        assert digests[index] == input_digest(
            [evidence_word(hashes[k]) for k in result.evidence_keys], context)


@pytest.mark.parametrize("value", [2.345, 2.675, 1.005, 4.124999999999999, 3.484625, 2.994, 0.0,
                                   3.5275000000000003, 1e-10, 4.0])
def test_vector_rounding_is_the_scalar_rounding(value: float) -> None:
    assert batch.round_half_up(np.array([value]))[0] == round_half_up(value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=10, allow_nan=False), min_size=1, max_size=50))
def test_vector_rounding_agrees_everywhere(values: list[float]) -> None:
    got = batch.round_half_up(np.array(values)).tolist()
    assert got == [round_half_up(v) for v in values]


def test_words_read_hex_heads() -> None:
    hashes = ["0123456789abcdef" + "0" * 48, "FFFFFFFFFFFFFFFF" + "1" * 48]
    assert batch.words(np.array(hashes)).tolist() == [evidence_word(h) for h in hashes]


@settings(max_examples=200, deadline=None)
@given(districts())
def test_record_text_parses_to_the_batch_records(case: Any) -> None:
    scale, policy, target, pairs = case
    cols, _ = columns(pairs)
    out = batch.compute(cols, scale=scale, policy=policy, target_dok=target)
    records = batch.to_records(out, cols, scale=scale, policy=policy, target_dok=target,
                               engine_version=ENGINE)
    text = batch_text.record_text(out, cols, scale=scale, policy=policy, target_dok=target)
    for i, record in enumerate(records):
        assert json.loads(text.inputs[i]) == record["inputs"]
        assert json.loads(text.decisions[i]) == record["decisions"]
        assert json.loads(text.parameters) == record["parameters"]
        assert (text.state[i], text.level_code[i], text.level_label[i], text.score[i],
                text.proficient[i], text.evidence_count[i], text.highest_dok[i]) == (
            record["state"], record["level_code"], record["level_label"], record["score"],
            record["proficient"], record["evidence_count"], record["highest_dok"])
        assert batch._moment(int(text.first[i])) == record["first_evidence_at"]
        assert (text.since[i] < 0) == (record["proficient_since"] is None)


def test_timestamps_as_text() -> None:
    micros = np.array([0, 1_500_000, 1_757_080_800_000_000], dtype=np.int64)
    assert batch_text.iso_utc(micros).tolist() == [
        "1970-01-01T00:00:00+00:00", "1970-01-01T00:00:01.500000+00:00",
        "2025-09-05T14:00:00+00:00"]
    assert batch_text.sql_datetime(micros[2:]).tolist() == ["2025-09-05 14:00:00.000000"]
