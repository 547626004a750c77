"""Competency frameworks: parse CASE packages, build hierarchies, read DOK.

Pure functions over decoded JSON; the sync layer fetches and stores.
"""
