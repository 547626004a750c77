"""Source adapters, one package per system."""
