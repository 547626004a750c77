"""Proficiency transcripts and the explanatory letter for admissions officers."""
