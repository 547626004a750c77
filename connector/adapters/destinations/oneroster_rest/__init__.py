"""OneRoster 1.2 gradebook REST as a destination."""

from connector.adapters.destinations.oneroster_rest.destination import OneRosterRestDestination

__all__ = ["OneRosterRestDestination"]
