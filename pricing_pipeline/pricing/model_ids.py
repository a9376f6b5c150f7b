"""Upstream model ids: which can be stored, and how to show any of them safely."""

from __future__ import annotations

import unicodedata

# Model ids: at most this long (the schema's model_id columns are VARCHAR of this length), no
# control characters (NUL, newlines, ...), no surrounding whitespace (adapters strip it).
MODEL_ID_MAX_LENGTH = 400
DISPLAY_ID_LENGTH = 120


def model_id_problem(model_id: str) -> str | None:
    """Why an (already stripped) upstream model id cannot be stored, or None."""
    if not model_id:
        return "empty model id"
    if len(model_id) > MODEL_ID_MAX_LENGTH:
        return f"model id of {len(model_id)} characters (at most {MODEL_ID_MAX_LENGTH})"
    if any(unicodedata.category(c) in ("Cc", "Cs") or c in "\u2028\u2029" for c in model_id):
        return "model id contains control characters"
    return None


def display_id(model_id: str, limit: int = DISPLAY_ID_LENGTH) -> str:
    """An upstream id safe to show anywhere: control characters escaped, truncated with its
    length (a 10 KB id stays a readable line)."""
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}" for c in model_id)
    if len(shown) > limit:
        shown = f"{shown[:limit]}…({len(model_id)} characters)"
    return shown
