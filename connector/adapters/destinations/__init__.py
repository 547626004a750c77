"""Destination adapters, one package per system."""
