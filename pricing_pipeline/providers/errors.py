"""Typed upstream failures. ``error_type`` values are the fixed metric label set."""

from __future__ import annotations

from pricing_pipeline.redaction import redact

ERROR_TYPES = (
    "timeout",
    "connection",
    "http_4xx",
    "http_5xx",
    "rate_limited",
    "invalid_response",
    "check_blocked",
    "database",
    "configuration",  # our side: e.g. a required API key is not set; never sent
)

# Worth retrying with backoff: the same request may well succeed a little later.
TRANSIENT_ERROR_TYPES = frozenset({"timeout", "connection", "http_5xx", "rate_limited"})


class UpstreamError(Exception):
    """A provider's model list could not be fetched or understood.

    The message names the provider and the cause and never contains credentials.
    """

    def __init__(
        self,
        provider: str,
        error_type: str,
        message: str,
        retry_after_seconds: float | None = None,
        max_retries: int | None = None,
    ):
        if error_type not in ERROR_TYPES:
            raise ValueError(f"unknown error type {error_type!r}")
        # upstream error pages and driver messages may echo a key: redacted before it is
        # raised, so no traceback, event, log or sync log row ever carries it
        super().__init__(redact(f"{provider}: {message}"))
        self.provider = provider
        self.error_type = error_type
        self.retry_after_seconds = retry_after_seconds
        # How often the sync step may retry this error within a run: None = as often as its
        # retry policy allows (transient errors), 0 = never, or a smaller budget of its own.
        if max_retries is None and error_type not in TRANSIENT_ERROR_TYPES:
            max_retries = 0
        self.max_retries = max_retries

    @property
    def transient(self) -> bool:
        return self.max_retries != 0

    def may_retry(self, retry_number: int) -> bool:
        """Whether the step's attempt ``retry_number`` (0 = the first) may be retried."""
        return self.max_retries is None or retry_number < self.max_retries


class InvalidResponse(UpstreamError):
    def __init__(self, provider: str, message: str):
        super().__init__(provider, "invalid_response", message)
