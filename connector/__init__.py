"""Connector between LMSs, adaptive software and SIS for competency-based districts."""

from __future__ import annotations

__version__ = "0.1.0"

#: Version of the mastery engine. Every mastery record names the engine version
#: that computed it, so a district can tell which records a rule change touched.
ENGINE_VERSION = "0.2.0"
