"""Adaptive-software exports (IXL-, i-Ready-, ALEKS-style skill reports) described in config."""

from connector.adapters.sources.adaptive_csv.source import AdaptiveCsvSource

__all__ = ["AdaptiveCsvSource"]
