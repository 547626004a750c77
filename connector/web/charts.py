"""Charts drawn on the server as SVG, with reportlab's graphics (already in the stack).

A chart is a picture of a table the page also shows, so the SVG is marked as an image
named by its title and the numbers stay readable without it. Each series has a colour
and a legend entry in words; the colours are told apart without red-green contrast.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from reportlab.graphics import renderSVG
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

#: Series colours, dark to light blue, then orange and grey (colour-blind safe).
PALETTE = ("#08306b", "#2171b5", "#6baed6", "#fd8d3c", "#bdbdbd")
WIDTH = 720
#: Bitstream Vera (shipped with reportlab) is laid out with its own metrics: as wide as
#: DejaVu Sans, the browsers' sans-serif on Linux, and wider than Arial elsewhere, so a
#: label measured here never runs into the axis in the browser.
FONT = "Vera"
pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))


def stacked_bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]],
                 *, percent: bool = True) -> str:
    """Horizontal stacked bars: one bar per label, one segment per series (shares 0-1).

    Returns the SVG markup (no XML prolog), to be placed inside the page.

    >>> svg = stacked_bars("DOK", ["A", "B"], [("DOK 1", [0.5, 0.2]), ("DOK 2", [0.5, 0.8])])
    >>> svg.startswith("<svg") and "DOK 1" in svg and "<title" in svg
    True
    """
    rows = max(len(labels), 1)
    height = 60 + rows * 26 + 40
    drawing = Drawing(WIDTH, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 280, 50
    chart.width, chart.height = WIDTH - 300, rows * 26
    chart.data = [list(reversed([v * (100 if percent else 1) for v in values]))
                  for _, values in series] or [[0]]
    chart.categoryAxis.categoryNames = list(reversed([_short(x) for x in labels])) or [""]
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -8
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = chart.valueAxis.labels.fontSize = 9
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, 100 if percent else None
    chart.valueAxis.valueStep = 20 if percent else None
    chart.valueAxis.labelTextFormat = "%d%%" if percent else "%d"
    chart.bars.strokeColor = colors.white
    chart.barWidth = 16
    for n in range(len(series)):
        chart.bars[n].fillColor = colors.HexColor(PALETTE[n % len(PALETTE)])
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 60, 22
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.deltax = 110
    legend.fontName, legend.fontSize = FONT, 9
    legend.colorNamePairs = [(colors.HexColor(PALETTE[n % len(PALETTE)]), name)
                             for n, (name, _) in enumerate(series)]
    drawing.add(legend)
    drawing.add(String(10, height - 18, title, fontName=FONT, fontSize=11))
    return _accessible(renderSVG.drawToString(drawing), title)


def _short(label: str, most: int = 44) -> str:
    return label if len(label) <= most else label[:most - 1] + "…"


def _accessible(svg: str, title: str) -> str:
    """The SVG as an image named by its title, without the XML prolog and doctype."""
    body = svg[svg.index("<svg"):]
    safe = (title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    body = re.sub(r"<svg\b", '<svg role="img" aria-label="' + safe.replace('"', "&quot;") + '"',
                  body, count=1)
    body = body.replace("<desc>...</desc>", "")
    if "<title>...</title>" in body:  # reportlab's placeholder
        return body.replace("<title>...</title>", f"<title>{safe}</title>", 1)
    return body.replace(">", f"><title>{safe}</title>", 1)
