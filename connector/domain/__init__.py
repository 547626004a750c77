"""Value objects of the education domain: scales, frameworks, evidence, records.

Standard library only: this is the vocabulary every layer shares.
"""
