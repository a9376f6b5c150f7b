"""Upstream text (model ids, pricing keys, reasons quoting upstream values) in the Markdown
that Dagster's UI renders for metadata and check results, made inert.

- ``code``: an id as an inline code span whose fence is longer than any backtick run in it,
  so nothing can close it early; inside a code span nothing is a link or emphasis.
- ``text``: free text with every active inline Markdown character backslash-escaped and bare
  URLs broken (GFM would autolink them), so it renders as the characters it is.
Both keep a table row a row (pipes escaped, newlines and other control characters shown
escaped) and cut overlong upstream text.
"""

from __future__ import annotations

import re

from pricing_pipeline.pricing.model_ids import display_id

# Inline Markdown's active characters inside a table cell (a cell never starts a line, so
# list and heading markers are inert there; parentheses do nothing without brackets).
_PUNCTUATION = re.compile(r"([\\`*_\[\]<>|&!~])")
_BARE_URL = re.compile(r"(?i)(https?|ftp|mailto|www)")
TEXT_LIMIT = 300


def code(value: object, limit: int = 120) -> str:
    shown = display_id(str(value), limit).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") or longest else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def text(value: object, limit: int = TEXT_LIMIT) -> str:
    shown = display_id(str(value), limit)
    shown = _PUNCTUATION.sub(r"\\\1", shown)
    return _BARE_URL.sub(lambda m: m.group(1)[0] + "\u200b" + m.group(1)[1:], shown)


def table(rows: dict, key_header: str, value_header: str, limit: int) -> str:
    """A two-column table: upstream keys as code, values as text; capped at ``limit`` rows."""
    lines = [f"| {key_header} | {value_header} |", "|---|---|"]
    lines += [f"| {code(key)} | {text(value)} |" for key, value in list(rows.items())[:limit]]
    if len(rows) > limit:
        lines.append(f"\n… and {len(rows) - limit} more.")
    return "\n".join(lines)
