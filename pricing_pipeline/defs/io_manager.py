"""How step outputs pass between steps: Dagster's filesystem IO manager (pickles under the
instance's storage directory, so a re-execution or a single-asset materialization finds them),
plus the last output this process wrote kept in memory.

A sync run executes its steps in one process (the in-process executor), and three steps read
the normalized snapshot: the checks, the price guard and the publish. Unpickling it again for
each cost seconds and a copy of the snapshot in memory per step at 100k models. The file
written is still the source of truth: the kept object is used only while the file is exactly
the one this process wrote (same inode, size and modification time), so a newer output
written by another run is always read from disk.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

from dagster import FilesystemIOManager, InitResourceContext, InputContext, OutputContext
from dagster._core.storage.fs_io_manager import PICKLE_PROTOCOL, PickledObjectFilesystemIOManager

from pricing_pipeline.pricing.records import NormalizedSnapshot

# (path, file identity, object): one output at a time, so memory holds at most one extra.
_last_written: tuple[str, tuple[int, int, int], Any] | None = None


def _identity(path: Any) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


class _KeepLastOutput(PickledObjectFilesystemIOManager):
    def dump_to_path(self, context: OutputContext, obj: Any, path: Any) -> None:
        global _last_written
        _last_written = None  # never serve an object whose file failed to write
        if isinstance(obj, NormalizedSnapshot):
            # Pickled without a memo: the memo of a 100k-model snapshot's objects cost more
            # memory (about 60 MB) than the pickle itself. The snapshot holds no cycles; shared
            # objects (Decimals) are written once per use instead, a bigger file read only by
            # a later run.
            with path.open("wb") as file:
                pickler = pickle.Pickler(file, PICKLE_PROTOCOL)
                pickler.fast = True
                pickler.dump(obj)
        else:
            super().dump_to_path(context, obj, path)
        identity = _identity(path)
        if identity is not None:
            _last_written = (str(path), identity, obj)

    def load_from_path(self, context: InputContext, path: Any) -> Any:
        kept = _last_written
        if kept is not None and kept[0] == str(path) and kept[1] == _identity(path):
            return kept[2]
        return super().load_from_path(context, path)


class StepOutputIOManager(FilesystemIOManager):
    """Dagster's ``FilesystemIOManager``, keeping the last output written in memory."""

    def create_io_manager(self, context: InitResourceContext) -> PickledObjectFilesystemIOManager:
        base_dir = self.base_dir or context.instance.storage_directory()
        return _KeepLastOutput(base_dir=base_dir)
