"""Render a transcript as a PDF for admissions officers (ReportLab platypus).

The PDF is what leaves the district, so it must read well on paper: academic
levels first, habits of success under their own heading, and the explanatory
letter on its own page, built only from :class:`~connector.transcripts.model.Letter`
so the explanation can never drift from the rules that produced the levels.

The small ``*_text`` helpers are public because the HTML renderer uses them too:
both renderers must print a level, a date or a DOK in exactly the same words.

Only the built-in Helvetica family is used (no font files to ship or embed).
It covers Windows-1252, so text is folded into that repertoire first: a stray
``ł`` or CJK character becomes a close ASCII letter or ``?`` instead of the
black box ReportLab would draw, and nothing ever raises.
"""

from __future__ import annotations

import io
import re
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from connector.transcripts.model import (
    Letter,
    Summary,
    Transcript,
    TranscriptGroup,
    TranscriptRow,
    TranscriptSection,
)

NO_VALUE = "—"
ACADEMIC_HEADING = "Academic competencies"
HABITS_HEADING = "Habits of Success"

# --- display text shared with the HTML renderer ------------------------------------------


#: Marks a level that is a teacher's judgement (an override), explained in the key.
OVERRIDE_MARK = "†"


def level_text(row: TranscriptRow) -> str:
    """``"3 Proficient"``, or only the label for a state such as "Insufficient evidence".

    A teacher's judgement carries :data:`OVERRIDE_MARK`, explained in the letter's key.
    """
    text = row.level_label if row.level_code is None or not row.level_code.strip() else (
        f"{row.level_code} {row.level_label}")
    return f"{text} {OVERRIDE_MARK}" if row.overridden else text


def heading_level_text(group: TranscriptGroup) -> str:
    """The heading competency's own level, marked like a row's."""
    if not group.level:
        return ""
    return f"{group.level} {OVERRIDE_MARK}" if group.overridden else group.level


def date_text(day: date | None) -> str:
    """ISO dates, because admissions offices read transcripts from many countries."""
    return day.isoformat() if day else NO_VALUE


def dok_text(row: TranscriptRow) -> str:
    """``"2 (3)"``: the deepest DOK the evidence showed, and the competency's target DOK."""
    shown = NO_VALUE if row.highest_dok is None else str(row.highest_dok)
    return shown if row.target_dok is None else f"{shown} ({row.target_dok})"


def value_text(value: float) -> str:
    """Scale values without a pointless ``.0`` (``3`` not ``3.0``; ``2.5`` stays)."""
    return f"{value:g}"


def gpa_text(gpa: float) -> str:
    return f"{gpa:.2f}"


def paragraphs(text: str) -> list[str]:
    """Split district-written prose on blank lines, the way they wrote it in YAML."""
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def summary_text(transcript: Transcript) -> str:
    """One line a reader can take in at a glance, in the scale's own words."""
    total = transcript.academic_count
    if total == 0:
        return "No academic competencies have been reported yet."
    proficient = [lv for lv in transcript.letter.levels if lv.proficient]
    floor = min(proficient, key=lambda lv: lv.value).label if proficient else "proficient"
    return (f"{transcript.proficient_count} of {total} academic competencies "
            f"at {floor} or above")


# --- text folding for the built-in fonts --------------------------------------------------

_FOLD = str.maketrans({
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2015": "-", "\u2212": "-",
    "\u2032": "'", "\u2035": "'", "\u2033": '"', "\u201b": "'", "\u201f": '"',
    "\u2039": "<", "\u203a": ">", "\u2264": "<=", "\u2265": ">=", "\u2260": "!=",
    "\u2192": "->", "\u2190": "<-", "\u2009": " ", "\u200a": " ",
    "\u2002": " ", "\u2003": " ", "\u202f": " ", "\u2007": " ", "\u200b": "",
    "\u200c": "", "\u200d": "", "\ufeff": "", "\u0141": "L", "\u0142": "l",
    "\u0110": "D", "\u0111": "d", "\u0131": "i", "\u2116": "No.",
})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def pdf_text(text: str) -> str:
    """Fold ``text`` into what Helvetica can draw (Windows-1252); never raises.

    >>> pdf_text("Renée O’Brien, Łódź ≥ 3, 数学")
    'Renée O’Brien, Lódz >= 3, ??'
    """
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", text))
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for ch in text.translate(_FOLD):
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch)
                           if not unicodedata.combining(c))
            try:
                out.append(base.encode("cp1252").decode("cp1252") if base else "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


def _markup(text: str) -> str:
    """Text made safe for Paragraph markup: a statement may contain ``<`` or ``&``."""
    return escape(pdf_text(text))


# --- styles, built once per process ----------------------------------------------------------

_INK = colors.HexColor("#1f2933")
_MUTED = colors.HexColor("#52606d")
_STRIPE = colors.HexColor("#f5f7fa")
_GROUP_BG = colors.HexColor("#e4e9f0")
_BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=9.5, leading=12.5,
                       textColor=_INK, spaceAfter=5)
_CELL = ParagraphStyle("cell", parent=_BODY, fontSize=8.5, leading=10.5, spaceAfter=0)
_GROUP = ParagraphStyle("group", parent=_CELL, fontName="Helvetica-Bold")
_INFO = ParagraphStyle("info", parent=_BODY, spaceAfter=0)
_SIGN = ParagraphStyle("sign", parent=_BODY, spaceAfter=1)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=10, textColor=_MUTED)
_DISTRICT = ParagraphStyle("district", parent=_BODY, fontName="Helvetica-Bold", fontSize=11,
                           leading=14, textColor=_MUTED, spaceAfter=2)
_H1 = ParagraphStyle("h1", parent=_BODY, fontName="Helvetica-Bold", fontSize=18, leading=22,
                     spaceAfter=8)
_PART = ParagraphStyle("part", parent=_BODY, fontName="Helvetica-Bold", fontSize=15,
                       leading=19, spaceBefore=8, spaceAfter=2)
_H2 = ParagraphStyle("h2", parent=_BODY, fontName="Helvetica-Bold", fontSize=13, leading=16,
                     spaceBefore=10, spaceAfter=4)
_H3 = ParagraphStyle("h3", parent=_BODY, fontName="Helvetica-Bold", fontSize=10, leading=13,
                     spaceBefore=6, spaceAfter=3)

_MARGIN = 0.6 * inch
_WIDTH = LETTER[0] - 2 * _MARGIN
_PAD = 3
_ROW_HEADER = ["Code", "Competency", "Level", "Date\nachieved", "DOK shown\n(target)",
               "Evidence"]
_ROW_WIDTHS = [1.05 * inch, 0, 1.12 * inch, 0.72 * inch, 0.72 * inch, 0.58 * inch]
_ROW_WIDTHS[1] = _WIDTH - sum(_ROW_WIDTHS)


def _grid_style(*extra: tuple[Any, ...]) -> TableStyle:
    return TableStyle([
        ("FONT", (0, 0), (-1, -1), "Helvetica", _CELL.fontSize, _CELL.leading),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8, 9.5),
        ("TEXTCOLOR", (0, 0), (-1, -1), _INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), _PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), _PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LINEBELOW", (0, 0), (-1, 0), 0.75, _INK),
        ("LINEBELOW", (0, -1), (-1, -1), 0.25, _MUTED),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, _STRIPE]),
        *extra,
    ])


_ROW_STYLE = _grid_style(("ALIGN", (5, 0), (5, -1), "RIGHT"))
_PLAIN_STYLE = _grid_style()
#: Two tables next to each other: the outer table adds no padding of its own.
_SIDE_BY_SIDE = TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                            *((side, (0, 0), (-1, -1), 0) for side in (
                                "LEFTPADDING", "RIGHTPADDING", "TOPPADDING", "BOTTOMPADDING"))])
_INFO_STYLE = TableStyle([
    ("FONT", (0, 0), (-1, -1), "Helvetica", 9.5, 12),
    ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9.5, 12),
    ("FONT", (2, 0), (2, -1), "Helvetica-Bold", 9.5, 12),
    ("TEXTCOLOR", (0, 0), (-1, -1), _INK),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
])


def _cell(text: str, width: float, style: ParagraphStyle = _CELL) -> str | Paragraph:
    """A plain string when it fits, else a wrapping Paragraph.

    Most cells are short; skipping Paragraph markup parsing for them roughly
    halves rendering time, which matters when a district prints a whole class.
    """
    plain = " ".join(pdf_text(text).split())
    if stringWidth(plain, style.fontName, style.fontSize) <= width - 2 * _PAD:
        return plain
    return Paragraph(escape(plain), style)


# --- document parts ------------------------------------------------------------------------


def _header(t: Transcript) -> list[Flowable]:
    s = t.student
    widths = [0.8 * inch, _WIDTH - 4.2 * inch, 0.8 * inch, 2.6 * inch]
    def left(text: str) -> str | Paragraph:
        return _cell(text, widths[1], _INFO)

    def right(text: str) -> str | Paragraph:
        return _cell(text, widths[3], _INFO)

    info = [["Student", left(s.full_name), "SIS ID", right(s.sis_id)],
            ["Grade", left(s.grade), "School", right(s.school_name)],
            ["Issued", date_text(t.issued_on), "", ""]]
    return [
        Paragraph(_markup(t.district_name), _DISTRICT),
        Paragraph("Proficiency Transcript", _H1),
        Table(info, colWidths=widths, style=_INFO_STYLE, hAlign="LEFT"),
        Spacer(1, 6),
        Paragraph(_markup(summary_text(t)), _BODY),
    ]


def _summary(t: Transcript, summary: Summary) -> list[Flowable]:
    """Page 1: who, which school, which year; then the whole record at a glance."""
    s, school = t.student, summary.school
    widths = [1.15 * inch, _WIDTH / 2 - 1.15 * inch, 1.15 * inch, _WIDTH / 2 - 1.15 * inch]

    def cell(text: str, column: int) -> str | Paragraph:
        return _cell(text or NO_VALUE, widths[column], _INFO)

    school_lines = [x for x in (school.address, f"CEEB {school.ceeb}" if school.ceeb else "",
                                school.phone) if x]
    info = [["Student", cell(s.full_name, 1), "School", cell(school.name or s.school_name, 3)],
            ["Date of birth", cell(summary.birth_date or "", 1), "", cell(
                "; ".join(school_lines), 3)],
            ["SIS ID", cell(s.sis_id, 1), "Registrar", cell(school.registrar, 3)],
            ["Grade", cell(s.grade, 1), "School year", cell(summary.school_year, 3)],
            ["Expected\ngraduation", cell(summary.expected_graduation, 1), "As of",
             date_text(t.issued_on)]]
    out: list[Flowable] = [
        Paragraph(_markup(t.district_name), _DISTRICT),
        Paragraph("Proficiency Transcript", _H1),
        Table(info, colWidths=widths, style=_INFO_STYLE, hAlign="LEFT"),
        Spacer(1, 8), Paragraph(_markup(summary_text(t)), _BODY)]
    right = _WIDTH - 3.6 * inch
    w = [2.0 * inch, 0.75 * inch, 0.85 * inch] if summary.requirements else \
        [3.6 * inch, 1.0 * inch, 1.0 * inch]
    areas = [["Content area", "Proficient", "Competencies"]]
    areas += [[_cell(title, w[0]), str(done), str(total)]
              for title, done, total in t.area_counts()]
    counts: list[Flowable] = [
        Paragraph("Competencies by content area", _H3),
        Table(areas, colWidths=w, style=_grid_style(("ALIGN", (1, 0), (-1, -1), "RIGHT")),
              hAlign="LEFT")]
    if summary.requirements:
        # Side by side, so that a senior's twelve courses still leave page 1 one page.
        w = [right - 2.0 * inch, 0.6 * inch, 0.55 * inch, 0.85 * inch]
        rows: list[list[str | Paragraph]] = [["Subject", "Required", "Earned", "In progress"]]
        rows += [[_cell(r.subject, w[0]), f"{r.required:g}", f"{r.earned:g}",
                  f"{r.in_progress:g}"] for r in summary.requirements]
        required = [Paragraph("Graduation requirements (credits)", _H3),
                    Table(rows, colWidths=w, style=_grid_style(("ALIGN", (1, 0), (-1, -1),
                                                               "RIGHT")), hAlign="LEFT")]
        out.append(Table([[counts, required]], colWidths=[3.75 * inch, right - 0.15 * inch],
                         style=_SIDE_BY_SIDE, hAlign="LEFT"))
    else:
        out += counts
    if summary.domains:
        out.append(Paragraph("Academic level by domain (beside grade level)", _H3))
        rows = [["Domain", "Academic level", "Targets proficient", "Pace"]]
        rows += [[_cell(d.domain, 2.4 * inch), _cell(d.level, 1.2 * inch),
                  f"{d.proficient} of {d.total}", _cell(d.pace, 2.0 * inch)]
                 for d in summary.domains]
        out.append(Table(rows, colWidths=[2.4 * inch, 1.2 * inch, 1.2 * inch, 2.0 * inch],
                         style=_PLAIN_STYLE, hAlign="LEFT"))
    if summary.credits:
        out.append(Paragraph("Course credit", _H3))
        w = [0.9 * inch, 0.8 * inch, 2.35 * inch, 0.65 * inch, _WIDTH - 4.7 * inch]
        rows = [["Year", "Course", "Title", "Credits", "Status"]]
        rows += [[c.school_year or NO_VALUE, _cell(c.course, w[1]), _cell(c.title, w[2]),
                  f"{c.credits:g}", _cell(c.status, w[4])] for c in summary.credits]
        out.append(Table(rows, colWidths=w, style=_PLAIN_STYLE, hAlign="LEFT"))
        out.append(Paragraph(_markup(credit_note(summary)), _SMALL))
    if summary.graduation:
        out += [Spacer(1, 6),
                Paragraph(f"<b>Graduation:</b> {_markup(summary.graduation)}.", _BODY)]
    overridden = t.overridden_count
    out.append(Paragraph(
        f"{overridden} level{'s are' if overridden != 1 else ' is'} a teacher's judgement, "
        f"marked {OVERRIDE_MARK} in the detail." if overridden else
        "Every level is as calculated from the evidence; none is a teacher's override.",
        _SMALL))
    out.append(Paragraph("The detail by competency follows; the key and the explanatory "
                         "letter are at the end.", _SMALL))
    return out


def credit_note(summary: Summary) -> str:
    """How credit is earned here, and where transfer credit comes from."""
    note = "Credit here is earned when every competency of the course is Proficient."
    if summary.transfer_schools:
        note += " Transfer credit accepted from " + "; ".join(summary.transfer_schools) + "."
    return note


def snapshot_columns(summary: Summary) -> list[str]:
    """The level names across every domain, each once, in the order the domains give them."""
    return list(dict.fromkeys(name for d in summary.domains for name, _ in d.reached))


def _performance_snapshot(summary: Summary) -> list[Flowable]:
    """Domains by levels, with the day each level was reached (a Chugach-style snapshot)."""
    columns = snapshot_columns(summary)
    if not columns:
        return []
    first = 1.8 * inch
    width = min(0.95 * inch, (_WIDTH - first) / len(columns))
    rows: list[list[str | Paragraph]] = [["Domain", *(
        _cell(f"Level {c}" if c.isdigit() else c, width) for c in columns)]]
    for d in summary.domains:
        reached = dict(d.reached)
        rows.append([_cell(d.domain, first),
                     *((reached[c] or "not yet") if c in reached else "" for c in columns)])
    return [CondPageBreak(3 * inch), Paragraph("Performance snapshot", _H2),
            Paragraph("The level reached in each domain, and the day the student reached it.",
                      _SMALL),
            Table(rows, colWidths=[first, *[width] * len(columns)], style=_PLAIN_STYLE,
                  repeatRows=1, hAlign="LEFT", spaceAfter=6)]


def _heading(text: str, style: ParagraphStyle, room: float) -> list[Flowable]:
    """A heading that moves to the next page unless ``room`` is left for a few rows after it.

    Cheaper and less wasteful than ``keepWithNext``, which would drag a whole
    table to the next page and leave most of a page blank.
    """
    return [CondPageBreak(room), Paragraph(_markup(text), style)]


def _section_table(section: TranscriptSection) -> Table:
    """One table per content area, each group title a full-width sub-heading row.

    A table per group would repeat the column header and a heading for every
    five rows; one table keeps a 40-competency transcript to a few pages, and
    ``NOSPLIT`` keeps each sub-heading on the same page as its first row.
    """
    data: list[list[str | Paragraph]] = [_ROW_HEADER]
    marks: list[tuple[Any, ...]] = []
    for group in section.groups:
        if group.title.strip() and group.rows:
            n = len(data)
            title_width = _ROW_WIDTHS[0] + _ROW_WIDTHS[1]
            data.append([_cell(group.title, title_width, _GROUP), "",
                         _cell(heading_level_text(group), _ROW_WIDTHS[2], _GROUP), "", "", ""])
            # The heading keeps its first two rows with it: never alone at a page's foot.
            marks += [("SPAN", (0, n), (1, n)), ("SPAN", (2, n), (-1, n)),
                      ("NOSPLIT", (0, n), (-1, min(n + 2, n + len(group.rows)))),
                      ("BACKGROUND", (0, n), (-1, n), _GROUP_BG),
                      ("FONT", (0, n), (-1, n), _GROUP.fontName, _GROUP.fontSize, _GROUP.leading),
                      ("LINEABOVE", (0, n), (-1, n), 0.25, _MUTED)]
        for r in group.rows:
            data.append([_cell(r.code, _ROW_WIDTHS[0]), _cell(r.statement, _ROW_WIDTHS[1]),
                         _cell(level_text(r), _ROW_WIDTHS[2]), date_text(r.achieved_on),
                         dok_text(r), str(r.evidence_count)])
    table = Table(data, colWidths=_ROW_WIDTHS, style=_ROW_STYLE, repeatRows=1, hAlign="LEFT",
                  spaceAfter=6)
    table.setStyle(marks)
    return table


def _sections(sections: tuple[TranscriptSection, ...], part: str) -> list[Flowable]:
    """Each section under its own heading, unless it only repeats the part's heading."""
    out: list[Flowable] = []
    for section in sections:
        if section.title.strip().casefold() != part.casefold():
            out += _heading(section.title, _H2, 1.4 * inch)
        out.append(_section_table(section))
    return out


def _prose(text: str) -> list[Flowable]:
    return [Paragraph(_markup(p), _BODY) for p in paragraphs(text)]


def _letter(letter: Letter) -> list[Flowable]:
    out: list[Flowable] = [
        Paragraph("To admissions officers", _H1),
        Paragraph(f"From {_markup(letter.district_name)}", _BODY),
    ]
    if letter.school_profile:
        out += [Paragraph("School profile", _H2), *_prose(letter.school_profile)]
    out.append(Paragraph(f"Proficiency scale: {_markup(letter.scale_name)}", _H2))
    widths = [0.55 * inch, 1.25 * inch, 0.55 * inch, 0, 0.8 * inch]
    widths[3] = _WIDTH - sum(widths)
    scale = [["Level", "Label", "Value", "What it means", "Proficient"]]
    scale += [[_cell(lv.code, widths[0]), _cell(lv.label, widths[1]), value_text(lv.value),
               _cell(lv.description, widths[3]), "Yes" if lv.proficient else "No"]
              for lv in letter.levels]
    out.append(Table(scale, colWidths=widths, style=_PLAIN_STYLE, repeatRows=1,
                     hAlign="LEFT", spaceAfter=6))
    if letter.state_labels:
        out.append(Paragraph("Some competencies show a state instead of a level:", _BODY))
        out += [Paragraph(f"<b>{_markup(label)}</b>: {_markup(meaning)}", _BODY)
                for label, meaning in letter.state_labels]
    if letter.dok_levels:
        out.append(Paragraph("Depth of knowledge", _H2))
        out.append(Paragraph(
            "Each competency names the depth of knowledge (Webb's DOK, 1 to 4) at which it "
            "must be shown. In the detail, <b>DOK shown (target)</b> gives the deepest level "
            "at which the student's evidence showed it and, in brackets, the level the "
            "competency asks for.", _BODY))
        dok = [["DOK", "What it asks of the student"]]
        dok += [[str(n), _cell(name, _WIDTH - 0.6 * inch)] for n, name in letter.dok_levels]
        out.append(Table(dok, colWidths=[0.6 * inch, _WIDTH - 0.6 * inch], style=_PLAIN_STYLE,
                         hAlign="LEFT", spaceAfter=6))
    out.append(Paragraph(
        f"<b>{OVERRIDE_MARK}</b> marks a level set by a teacher's judgement, with a recorded "
        "reason, in place of the calculated one.", _BODY))
    out.append(Paragraph("How proficiency is determined", _H2))
    out += [Paragraph(_markup(sentence), _BODY) for sentence in letter.method_sentences]
    if letter.graduation_requirements:
        out += [Paragraph("Graduation requirements", _H2),
                *_prose(letter.graduation_requirements)]
    if letter.habits_note:
        out += [Paragraph("Habits of success", _H2), *_prose(letter.habits_note)]
    if letter.gpa_translation:
        out.append(Paragraph("Approximate GPA translation", _H2))
        gpa = [["Level", "Label", "GPA equivalent"]]
        widths = [0.8 * inch, 1.8 * inch, 1.2 * inch]
        gpa += [[_cell(code, widths[0]), _cell(label, widths[1]), gpa_text(value)]
                for code, label, value in letter.gpa_translation]
        out.append(Table(gpa, colWidths=widths, style=_PLAIN_STYLE, hAlign="LEFT",
                         spaceAfter=4))
        out.append(Paragraph(
            "This translation is an approximation provided on request. The proficiency "
            "levels on the transcript are the record of achievement.", _SMALL))
    signature = [x for x in (letter.signatory_name, letter.signatory_title, letter.contact) if x]
    if signature:
        lines = [Paragraph(_markup(line), _SIGN) for line in signature]
        if letter.signatory_name:
            lines[0] = Paragraph(f"<b>{_markup(letter.signatory_name)}</b>", _SIGN)
        out.append(KeepTogether([Spacer(1, 12), *lines]))
    return out


def _footer(text: str, watermark: str | None, created: datetime, canvas: Canvas,
            doc: SimpleDocTemplate) -> None:
    _date(canvas, created)
    canvas.saveState()
    if watermark:
        # Drawn first, under the text, light enough to read through but on every page:
        # a printed page of a draft must never pass for an official one.
        canvas.saveState()
        canvas.setFont("Helvetica-Bold", 110)
        canvas.setFillColor(colors.Color(0.8, 0.1, 0.1, alpha=0.13))
        canvas.translate(LETTER[0] / 2, LETTER[1] / 2)
        canvas.rotate(45)
        canvas.drawCentredString(0, -40, pdf_text(watermark))
        canvas.restoreState()
    canvas.setFont("Helvetica", 7.5)
    canvas.setFillColor(_MUTED)
    canvas.drawString(_MARGIN, 0.45 * inch, text)
    canvas.drawRightString(LETTER[0] - _MARGIN, 0.45 * inch, f"Page {doc.page}")
    canvas.restoreState()


def _date(canvas: Canvas, when: datetime) -> None:
    """Date the document ``when`` (its CreationDate and ModDate), in UTC.

    ReportLab's invariant mode (kept, so the same transcript renders to the same
    bytes) would date every file 2000-01-01; the date an admissions office's
    software reads is the moment the transcript was issued or drafted.
    """
    stamp = canvas._doc._timeStamp
    t = when.astimezone(UTC).timestamp()
    stamp.t, stamp.lt = t, time.gmtime(t)
    stamp.YMDhms = tuple(stamp.lt)[:6]
    stamp.dhh = stamp.dmm = 0
    stamp.tzname = "UTC"


def render_pdf(transcript: Transcript, *, watermark: str | None = None,
               created: datetime | None = None) -> bytes:
    """The transcript, habits of success and explanatory letter as one PDF document.

    ``watermark`` (``"DRAFT"``) is drawn across every page of a transcript that is not
    issued. ``created`` dates the document (now when not given); the same transcript
    and date always render to the same bytes.
    """
    student = transcript.student
    if transcript.summary is not None:
        story = [*_summary(transcript, transcript.summary), PageBreak()]
    else:
        story = _header(transcript)
    story.append(Paragraph(ACADEMIC_HEADING, _PART))
    story += _sections(transcript.academic, ACADEMIC_HEADING) or [
        Paragraph("No academic competencies have been reported yet.", _BODY)]
    if transcript.habits:
        story += [CondPageBreak(2.2 * inch), Spacer(1, 12), Paragraph(HABITS_HEADING, _PART),
                  Paragraph("Reported separately from the academic competencies above.", _SMALL)]
        story += _sections(transcript.habits, HABITS_HEADING)
    if transcript.summary is not None and transcript.summary.performance_snapshot:
        story += _performance_snapshot(transcript.summary)
    story.append(PageBreak())
    story += _letter(transcript.letter)

    buffer = io.BytesIO()
    footer: Callable[[Canvas, SimpleDocTemplate], None] = partial(_footer, pdf_text(
        f"{transcript.district_name} · Proficiency transcript of {student.full_name} "
        f"(SIS ID {student.sis_id})"
        + (f" · {watermark}: not an official transcript" if watermark else "")),
        watermark, created or datetime.now(UTC))
    doc = SimpleDocTemplate(
        buffer, pagesize=LETTER, leftMargin=_MARGIN, rightMargin=_MARGIN,
        topMargin=_MARGIN, bottomMargin=_MARGIN + 0.1 * inch, invariant=1,
        title=f"Proficiency transcript – {student.full_name}", author=transcript.district_name,
        subject="Competency-based proficiency transcript", creator="mastery-connector",
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
