"""One HTTP client for every adapter: timeouts, retries with backoff and jitter, auth."""
