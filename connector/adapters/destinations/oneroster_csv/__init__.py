"""OneRoster 1.2 CSV results bundle for SIS gradebook import."""

from connector.adapters.destinations.oneroster_csv.writer import OneRosterCsvResults

__all__ = ["OneRosterCsvResults"]
