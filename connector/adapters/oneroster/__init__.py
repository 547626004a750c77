"""The OneRoster data model both bindings share (CSV files and REST/JSON).

A REST object is flattened to the CSV binding's column names, so one parser per
record type serves both, and a field means the same thing whichever way it came.
"""
