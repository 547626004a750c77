"""Vendor exports (adaptive practice, diagnostics) picked up from a drop folder."""

from connector.adapters.sources.file_drop.source import FileDropSource

__all__ = ["FileDropSource"]
