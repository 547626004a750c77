"""Adapters: the only code that knows how a vendor's files and APIs look."""
