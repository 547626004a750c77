"""Render a transcript as a standalone HTML page (Jinja2, autoescaped).

The page carries the same content in the same order as the PDF, so a counsellor
previewing it in a browser sees exactly what an admissions office will receive.
Cell text comes from the PDF module's helpers for the same reason: one wording
of a level, a date or a DOK.

Autoescaping is on for every template: competency statements and school
profiles are district-written text and may contain ``<`` or ``&``.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from connector.transcripts.model import Transcript
from connector.transcripts.pdf import (
    ACADEMIC_HEADING,
    HABITS_HEADING,
    OVERRIDE_MARK,
    credit_note,
    date_text,
    dok_text,
    gpa_text,
    heading_level_text,
    level_text,
    paragraphs,
    summary_text,
    value_text,
)

TEMPLATE_NAME = "transcript.html.j2"

# Built once: compiling the template dominates the cost of a first render.
_ENV = Environment(
    loader=PackageLoader("connector.transcripts", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True,
                                 default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
_ENV.filters.update(
    level_text=level_text,
    heading_level_text=heading_level_text,
    date_text=date_text,
    dok_text=dok_text,
    gpa_text=gpa_text,
    value_text=value_text,
    paragraphs=paragraphs,
)


def render_html(transcript: Transcript, *, watermark: str | None = None) -> str:
    """The transcript, habits of success and explanatory letter as one HTML document.

    ``watermark`` (``"DRAFT"``) marks a transcript that is not issued, on screen and
    on every printed page.
    """
    template = _ENV.get_template(TEMPLATE_NAME)
    return template.render(t=transcript, summary=summary_text(transcript), watermark=watermark,
                           mark=OVERRIDE_MARK,
                           credit_note=credit_note(transcript.summary) if transcript.summary else "",
                           academic_heading=ACADEMIC_HEADING, habits_heading=HABITS_HEADING)
