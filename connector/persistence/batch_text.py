"""Batch results as stored text, built column-wise: what a bulk write sends.

:func:`connector.mastery.batch.to_records` builds each record as Python data (one
call per record); for a million records this module builds the same values as
JSON text and plain columns with whole-array string operations. Parsing its
JSON gives exactly ``to_records``'s inputs and decisions (tested).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from connector.domain.scale import ProficiencyScale
from connector.mastery import batch
from connector.mastery.policy import MasteryPolicy

Array = np.ndarray[Any, Any]
_S = np.dtypes.StringDType()


def _text(values: Array) -> Array:
    return np.asarray(values).astype(_S)


def _cat(*parts: Any) -> Array:
    out = parts[0] if isinstance(parts[0], np.ndarray) else np.asarray(parts[0], dtype=_S)
    for part in parts[1:]:
        out = np.strings.add(out, part)
    return out


def _distinct(values: Array, format_: Any) -> Array:
    """``format_`` applied to each distinct value once, spread back over ``values``."""
    if not len(values):
        return np.zeros(0, dtype=_S)
    unique = np.unique(values)
    formatted: Array = format_(unique)
    return formatted[np.searchsorted(unique, values)]


def iso_utc(micros: Array) -> Array:
    """``datetime.isoformat()`` of UTC instants: '2025-09-05T14:00:00+00:00' (µs when non-zero)."""
    moments = micros.astype("datetime64[us]")
    full = np.datetime_as_string(moments, unit="us").astype(_S)
    whole = np.datetime_as_string(moments, unit="s").astype(_S)
    return np.strings.add(np.where(micros % 1_000_000 == 0, whole, full), "+00:00")


def sql_datetime(micros: Array) -> Array:
    """Instants in the text form SQLite stores them in ('2025-09-05 14:00:00.000000')."""
    def format_(unique: Array) -> Array:
        text = np.datetime_as_string(unique.astype("datetime64[us]"), unit="us").astype(_S)
        return np.strings.replace(text, "T", " ")
    return _distinct(micros, format_)


@dataclass
class RecordText:
    """One batch of records as columns of plain values (JSON already text)."""

    pairs: Array
    state: list[str]
    level_code: list[str | None]
    level_label: list[str]
    score: list[float | None]
    proficient: list[bool]
    parameters: str
    inputs: list[str]
    decisions: list[str]
    evidence_count: list[int]
    highest_dok: list[int | None]
    first: Array   # int64 microseconds
    since: Array   # int64 microseconds, -1 for none
    achieved: Array  # int64 microseconds, -1 for none


def record_text(out: batch.Outcome, cols: batch.Columns, *, scale: ProficiencyScale,
                policy: MasteryPolicy, target_dok: int | None) -> RecordText:
    """The stored values of every pair in ``out``, as :class:`RecordText`."""
    levels = scale.levels
    n_pairs = len(out.start)
    order = out.order
    # ---- inputs: one JSON row per piece, joined per pair. Dates, values and the small
    # columns repeat a lot, so each distinct value is formatted once and indexed.
    value_text = _distinct(cols.value[order], lambda u: np.strings.add(_text(u), ',"'))
    date_text = _distinct(cols.assessed[order], lambda u: np.strings.add(iso_utc(u), '",'))
    dok = np.clip(cols.dok[order], 0, 4)
    counted_values, counted_index = np.unique(np.nan_to_num(out.counted_as, nan=-1.0),
                                              return_inverse=True)
    statuses = ("used", "capped", "excluded")
    tails = np.asarray([
        ("null" if d == 0 else str(d)) + f',"{batch.TYPE_CODES[k]}","{statuses[st]}",'
        + ("null" if c < 0 else repr(float(c))) + "]"
        for d in range(5) for k in range(len(batch.TYPE_CODES)) for st in range(3)
        for c in counted_values.tolist()], dtype=_S)
    which = ((dok * len(batch.TYPE_CODES) + cols.kind[order]) * 3 + out.status) * len(
        counted_values) + counted_index.reshape(-1)
    frag = _cat("[", _text(cols.evidence_id[order]), ",", value_text, date_text,
                tails[which])
    pieces = frag.tolist()
    inputs = ["[" + ",".join(pieces[s:s + n]) + "]"
              for s, n in zip(out.start.tolist(), out.length.tolist(), strict=True)]

    # ---- decisions, assembled from optional parts
    empty = np.asarray("", dtype=_S)
    adaptive = json.dumps(sorted(policy.adaptive_types))
    qualifying = json.dumps(sorted(policy.qualifying_evidence_types))
    target = json.dumps(target_dok)
    short = out.counted < policy.min_evidence
    zero = ~short & out.zero_weight
    ok = ~short & ~zero
    score_text = _text(np.nan_to_num(out.score))
    values = np.array([lv.value for lv in levels])
    before = np.clip(np.searchsorted(values, np.nan_to_num(out.score), side="right") - 1, 0,
                     len(levels) - 1)
    codes = np.asarray([json.dumps(lv.code) for lv in levels] + ["null"], dtype=_S)
    raw = np.full(n_pairs, "", dtype=_S)
    held = ok & ~np.isnan(out.raw)
    if held.any():  # rare: Python's round() for the same digits as the scalar engine
        raw[held] = [f',"raw":{round(float(x), 6)!r}' for x in out.raw[held].tolist()]
    cap = ""
    if policy.adaptive == "cap":
        cap = json.dumps(scale.level(str(policy.adaptive_max_level)).code)
    parts = [
        np.asarray('[{"code":"evidence"}', dtype=_S),
        np.where(out.excluded > 0, _cat(',{"code":"adaptive_excluded","count":',
                                        _text(out.excluded), f',"types":{adaptive}}}'), empty),
        np.where(out.capped > 0, _cat(',{"code":"adaptive_capped","count":', _text(out.capped),
                                      f',"level":{cap},"types":{adaptive}}}'), empty),
        np.where(short, _cat(',{"code":"minimum","count":', _text(out.counted),
                             f',"needed":{policy.min_evidence}}}'), empty),
        np.where(zero, np.asarray(',{"code":"undetermined","state":"insufficient_evidence",'
                                  '"reason":"every piece of evidence has weight 0"}', dtype=_S),
                 empty),
        np.where(ok, _cat(',{"code":"method","score":', score_text, raw, "}"), empty),
        np.where(ok, _cat(',{"code":"level","score":', score_text, ',"level":', codes[before],
                          "}"), empty),
        np.where(ok & (out.gate == batch.GATE_MET),
                 _cat(f',{{"code":"dok_gate_met","target":{target},"input":',
                      _text(out.gate_input), "}"), empty),
        np.where(ok & (out.gate == batch.GATE_CAPPED),
                 _cat(f',{{"code":"dok_gate_capped","target":{target},"level":',
                      codes[out.level], f',"types":{qualifying}}}'), empty),
        np.asarray("]", dtype=_S),
    ]
    decisions = _cat(*parts).tolist()

    # ---- plain columns
    state_names = np.array(["level", "not_yet", "insufficient_evidence"], dtype=object)[out.state]
    labels = np.array([lv.label for lv in levels], dtype=object)
    level_code = np.array([lv.code for lv in levels] + [None], dtype=object)[out.level]
    state_labels = np.array([scale.state_label(s) for s in ("level", "not_yet",
                                                             "insufficient_evidence")],
                            dtype=object)[out.state]
    level_label = np.where(out.level >= 0, labels[np.maximum(out.level, 0)], state_labels)
    proficient_index = levels.index(scale.proficient)
    score = [None if x != x else x for x in out.score.tolist()]
    return RecordText(
        pairs=out.pairs, state=state_names.tolist(), level_code=level_code.tolist(),
        level_label=level_label.tolist(), score=score,
        proficient=((out.state == batch.LEVEL) & (out.level >= proficient_index)).tolist(),
        parameters=json.dumps(dict(policy.parameters)), inputs=inputs, decisions=decisions,
        evidence_count=out.counted.tolist(),
        highest_dok=[d or None for d in out.highest_dok.tolist()],
        first=out.first, since=out.since, achieved=out.achieved)
