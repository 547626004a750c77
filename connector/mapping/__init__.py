"""Mapping: align source items to competencies and put scores on the district scale.

Pure functions on plain data; the sync layer feeds them rows and stores results.
"""
