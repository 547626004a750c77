"""The ``connector`` command line: thin wrappers over the service functions."""
