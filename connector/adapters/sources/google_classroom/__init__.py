"""Google Classroom as a source of teacher evidence: graded course work and grades."""

from connector.adapters.sources.google_classroom.source import GoogleClassroomSource

__all__ = ["GoogleClassroomSource"]
