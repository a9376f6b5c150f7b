"""Secrets never leave the process: every value of a configured secret is replaced with
``[redacted]`` in error texts, the sync log, event metadata, logs and archived upstream bodies.

The secrets are the values, at the time of the call, of every ``*_API_KEY`` variable (every
provider adapter's key variable is named so; a test holds them to it), the password in
``PRICING_DATABASE_URL`` and any credentials in ``PRICING_PUSHGATEWAY_URL`` (plus
``PRICING_EXTRA_SECRET_VARS``, a comma-separated list of further variable names). Redacting by value catches a key wherever it shows up: echoed by an
upstream in a body or an error page, inside a URL, in a driver's error message.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

REDACTED = "[redacted]"
# Shorter values are not treated as secrets (they would redact ordinary text).
MIN_SECRET_LENGTH = 6
URL_VARIABLES = ("PRICING_DATABASE_URL", "PRICING_PUSHGATEWAY_URL")


API_KEY_SUFFIX = "_API_KEY"


def secret_variables() -> list[str]:
    names = sorted(name for name in os.environ if name.endswith(API_KEY_SUFFIX))
    extra = os.environ.get("PRICING_EXTRA_SECRET_VARS", "")
    return names + [name.strip() for name in extra.split(",") if name.strip()]


def secret_values() -> list[str]:
    values = {os.environ.get(name, "") for name in secret_variables()}
    for name in URL_VARIABLES:
        parts = urlsplit(os.environ.get(name, ""))
        for credential in (parts.password, parts.username if parts.password is None else None):
            if credential:
                values.update({credential, unquote(credential)})
    # longest first, so a secret containing another is replaced whole
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str) -> str:
    for value in secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def redact_bytes(body: bytes) -> bytes:
    for value in secret_values():
        encoded = value.encode()
        if encoded in body:
            body = body.replace(encoded, REDACTED.encode())
    return body
