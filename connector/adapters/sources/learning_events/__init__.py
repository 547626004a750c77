"""Learning events posted by providers: xAPI 1.0.3 statements and Caliper 1.1/1.2 events."""

from connector.adapters.sources.learning_events.source import LearningEventsSource

__all__ = ["LearningEventsSource"]
