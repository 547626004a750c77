"""OneRoster 1.1/1.2 REST as a source: rosters and gradebook over OAuth2."""

from connector.adapters.sources.oneroster_rest.source import OneRosterRestSource

__all__ = ["OneRosterRestSource"]
