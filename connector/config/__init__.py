"""Declarative district configuration: YAML files validated with marshmallow."""
