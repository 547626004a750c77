"""Canvas LMS as a source of teacher evidence: assignments, rubric criteria, grades."""

from connector.adapters.sources.canvas.source import CanvasSource

__all__ = ["CanvasSource"]
