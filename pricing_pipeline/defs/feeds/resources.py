"""Where the price feeds are written: a local folder (``PRICING_FEEDS_DIR``, by default
``$DAGSTER_HOME/feeds``), each file replaced atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dagster import ConfigurableResource


class FeedsOutput(ConfigurableResource):
    directory: str

    def write_atomically(self, name: str, data: bytes) -> Path:
        """Write to a temporary file in the same folder, fsync, then rename over the old file:
        a reader sees the old feed or the new one, never half of one."""
        folder = Path(self.directory)
        folder.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o644)
            os.replace(temp, folder / name)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return folder / name

    def read(self, name: str) -> bytes | None:
        path = Path(self.directory) / name
        return path.read_bytes() if path.exists() else None

