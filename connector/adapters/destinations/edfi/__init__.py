"""Ed-Fi ODS/API (Data Standard 5.x) as a destination."""

from connector.adapters.destinations.edfi.destination import EdFiDestination

__all__ = ["EdFiDestination"]
