"""`make dev` without REPLAY: say at start when the provider APIs cannot be reached, before
the schedule's syncs fail one by one (DNS errors, missing keys) eight minutes later.

    python -m pricing_dev.online

Prints one notice on stderr and exits 0 either way: it informs, it never stops `make dev`.
"""

from __future__ import annotations

import socket
import sys

# One host is enough to tell "no internet" from "one provider down".
PROBE = ("openrouter.ai", 443)
NOTICE = (
    "pricing-pipeline: no internet ({reason}): the provider APIs cannot be reached, so every sync "
    "(schedule, Materialize, backfill) will fail.\n"
    "  Serve the recordings instead:  make dev REPLAY=../shared/fixtures/providers"
)


def reachable(address: tuple[str, int] | None = None, timeout: float = 3.0) -> str | None:
    """None when a TCP connection opens; otherwise why not."""
    address = address or PROBE
    try:
        with socket.create_connection(address, timeout=timeout):
            return None
    except OSError as error:
        return f"{address[0]}: {error.strerror or type(error).__name__}"


def main() -> int:
    reason = reachable()
    if reason is not None:
        print(NOTICE.format(reason=reason), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
