"""Run a command with every provider's URL pointed at a local server of recordings.

    python -m pricing_dev.replay -- pricing-pipeline sync

For machines without internet (CI, this project's dev machines): the same code path as a
real sync, with the HTTP edge replaced by recorded responses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from pricing_dev.recordings import DUMMY_API_KEYS, REPLAY_DETAILS, REPLAY_FILES
from pricing_dev.upstream_server import UpstreamServer


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1 :] if "--" in argv else argv
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    missing = [str(path) for path in REPLAY_FILES.values() if not path.exists()]
    if missing:
        print(f"recordings not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    server = UpstreamServer().start()
    env = dict(os.environ)
    # A URL already set wins (docs/operating.md: the per-provider override): e.g. one provider pointed at a
    # closed port to watch it fail while the rest replay.
    kept = [provider for provider in REPLAY_FILES if f"PRICING_{provider.upper()}_URL" in env]
    for provider, path in REPLAY_FILES.items():
        env.setdefault(f"PRICING_{provider.upper()}_URL", server.serve_file(f"/{provider}", path))
    for provider, (folder, suffix) in REPLAY_DETAILS.items():
        server.serve_tree(f"/{provider}", folder, suffix)
    for name, value in DUMMY_API_KEYS.items():
        env.setdefault(name, value)
    replayed = len(REPLAY_FILES) - len(kept)
    print(f"replaying {replayed} providers' recordings from {server.base_url}", file=sys.stderr)
    for provider in kept:
        print(f"{provider}: PRICING_{provider.upper()}_URL is set, so it is not replayed", file=sys.stderr)
    try:
        return run_until_done(command, env)
    finally:
        server.stop()


def run_until_done(command: list[str], env: dict) -> int:
    """Run the command to its end. Ctrl-C reaches it through the terminal's process group, so
    here it only waits (subprocess.call would SIGKILL `dagster dev` and orphan its webserver
    and daemon); a SIGTERM is passed on. A shell starts a background job (`make dev &`) with
    SIGINT ignored, and `dagster dev` treats SIGTERM as SIGINT, so it would ignore that too:
    a Python handler here (reset to the default in the child at exec) un-ignores it."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    child = subprocess.Popen(command, env=env)
    signal.signal(signal.SIGTERM, lambda signum, frame: child.terminate())
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            continue


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
