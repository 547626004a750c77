"""Put a source's score on the district's proficiency scale.

Sources speak in points, percents or their own levels. A district sets cut
scores per source (for example percent >= 80 -> Proficient). A rubric already
scored on the district's scale (max equal to the scale's top value) can be
taken as is when the source says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from connector.domain.scale import Level, ProficiencyScale
from connector.errors import ConfigurationError, DataError


@dataclass(frozen=True)
class CutScore:
    """Scores at or above ``min_percent`` percent reach ``level_code``."""

    min_percent: float
    level_code: str


@dataclass(frozen=True)
class ScoreConversion:
    """How one source's scores become levels.

    Attributes:
        cuts: cut scores, any order; the highest one reached wins.
        scale_scored_max: when an item's maximum equals this value, its score is
            already a level value on the district scale (a 4-point rubric), and is
            taken as the highest level it reaches rather than converted to percent.
        text_levels: what a non-numeric score means on the district scale, e.g.
            ``{"M": "3", "Mastered": "4"}`` for a source that reports letters or words.
            The district scale's own level codes and labels are always understood.
        extra_credit: a score above the item's maximum is a typing or export error
            (``reject``, the default) or extra credit the district lets count as full
            marks (``full_marks``); it never reaches past the top of the scale.
        without_maximum: what a score on an item with no maximum is: a ``percent``, a
            score to ``reject`` (15 points is not 15%), or ``ungraded`` work that is not
            evidence. None leaves it to the source's kind (see
            ``SourceAdapter.scores_without_maximum``).
    """

    cuts: tuple[CutScore, ...]
    scale_scored_max: float | None = None
    text_levels: Mapping[str, str] = field(default_factory=dict)
    extra_credit: str = "reject"
    without_maximum: str | None = None

    def validate(self, scale: ProficiencyScale) -> None:
        if not self.cuts:
            raise ConfigurationError("cut scores need at least one entry")
        for cut in self.cuts:
            scale.level(cut.level_code)
            if not 0 <= cut.min_percent <= 100:
                raise ConfigurationError(
                    f"cut score for level {cut.level_code!r} must be a percent 0-100: "
                    f"{cut.min_percent}"
                )

    @property
    def ordered(self) -> Sequence[CutScore]:
        return sorted(self.cuts, key=lambda c: c.min_percent)


def to_level(
    score: float,
    max_score: float | None,
    conversion: ScoreConversion,
    scale: ProficiencyScale,
    min_score: float | None = None,
) -> Level:
    """The level a score reaches. ``max_score`` None means ``score`` is a percent.

    A score below every cut reaches the scale's lowest level: the student showed
    something, and "not yet" is a statement about the record, not one score. A
    score outside the item's own range (OneRoster's ``resultValueMin`` and
    ``resultValueMax``) is refused, unless the district counts extra credit.
    """
    if not math.isfinite(score) or (max_score is not None and not math.isfinite(max_score)):
        raise DataError(f"score and maximum must be finite numbers: {score!r}, {max_score!r}")
    if score < 0:
        raise DataError(f"score must not be negative: {score:g}")
    if min_score is not None and math.isfinite(min_score) and score < min_score:
        raise DataError(f"score {score:g} is below the item's minimum {min_score:g}")
    if max_score is not None and max_score <= 0:
        raise DataError(f"maximum score must be positive: {max_score:g}")
    if conversion.extra_credit == "full_marks":
        score = min(score, max_score if max_score is not None else 100.0)
    if (
        max_score is not None
        and conversion.scale_scored_max is not None
        and max_score == conversion.scale_scored_max
    ):
        if score > max_score:
            raise DataError(f"score {score:g} is above the maximum {max_score:g}")
        return scale.level_for_value(score)
    # Rounded so 57/100 is exactly 57 (binary floating point gives 56.99999999999999).
    percent = score if max_score is None else round(score / max_score * 100, 9)
    if percent > 100.0001:
        where = "percent" if max_score is None else f"maximum {max_score:g}"
        raise DataError(f"score {score:g} is above the {where}; a district that counts "
                        "extra credit sets score_conversion.extra_credit: full_marks")
    chosen = scale.levels[0]
    for cut in conversion.ordered:
        if percent >= cut.min_percent:
            chosen = scale.level(cut.level_code)
    return chosen


def text_to_level(text: str, conversion: ScoreConversion, scale: ProficiencyScale) -> Level:
    """The level a non-numeric score stands for (case and surrounding spaces ignored).

    The source's own table wins, then the scale's level codes and labels, so "P",
    "Proficient" and "3" all work on a scale whose level 3 is labelled Proficient
    when the source says so.

    An unknown text is a data error naming what is understood, so a clerk can add
    it to the source's ``text_levels``.
    """
    wanted = text.strip().casefold()
    for given, code in conversion.text_levels.items():
        if given.strip().casefold() == wanted:
            return scale.level(code)
    for level in scale.levels:
        if wanted in (level.code.casefold(), level.label.casefold()):
            return level
    known = sorted({*conversion.text_levels, *(lv.code for lv in scale.levels),
                    *(lv.label for lv in scale.levels)})
    raise DataError(f"text score {text!r} has no level; understood: {known}. Add it to the "
                    f"source's score_conversion.text_levels")
