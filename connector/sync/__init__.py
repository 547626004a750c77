"""Sync orchestration: frameworks in, sources staged, mapped, computed and pushed."""
