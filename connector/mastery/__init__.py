"""The mastery engine: pure functions from ordered evidence to a level and its explanation."""
