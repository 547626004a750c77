"""Schoology as a source of teacher evidence: published assignments and grades."""

from connector.adapters.sources.schoology.source import SchoologySource

__all__ = ["SchoologySource"]
