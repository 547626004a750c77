"""OneRoster 1.1/1.2 CSV bundles (zip or directory): how most SIS and LMS export gradebooks."""

from connector.adapters.sources.oneroster_csv.source import OneRosterCsvSource

__all__ = ["OneRosterCsvSource"]
