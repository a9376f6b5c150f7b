"""The feed files as the service sends them (serve.py): each read whole once per version, with a
strong ETag (the SHA-256 of the bytes sent), ``If-None-Match`` → 304, ``Cache-Control`` and gzip."""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

FEEDS = ("litellm_model_cost_map.json", "prices.json")
# A client may reuse a feed for a minute, then asks again (a 304 while it is unchanged).
FEED_CACHE_CONTROL = b"public, max-age=60"


@dataclass(frozen=True)
class Feed:
    identity: tuple  # (device, inode, size, mtime, ctime) of the file these bytes were read from
    data: bytes
    gzipped: bytes
    etag: str  # of the bytes as they are; the gzipped bytes' is etag_gzip
    etag_gzip: str
    modified: float


class FeedFiles:
    """The feed files, each read whole once per version. The feeds asset replaces a file by
    rename (never in place), so a path names a whole file: a request stats the path and serves
    the bytes it already holds for that very file (same inode, size and times), or opens it,
    reads that open file once and hashes exactly those bytes. A half-written file is never
    seen: the temporary file has another name until it is complete."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._paths = {name: str(self.directory / name) for name in FEEDS}
        self._read: dict[str, Feed] = {}

    def cached(self, name: str) -> Feed | None:
        """The feed, if the bytes held are those of the file the path names now (else None)."""
        feed = self._read.get(name)
        if feed is None:
            return None
        try:
            status = os.stat(self._paths[name])
        except OSError:
            return None
        return feed if _identity(status) == feed.identity else None

    def read(self, name: str) -> Feed | None:
        """Read the file the path names now (None: no such feed yet)."""
        try:
            with open(self._paths[name], "rb") as handle:
                status = os.fstat(handle.fileno())
                data = handle.read()
        except FileNotFoundError:
            return None
        digest = hashlib.sha256(data).hexdigest()
        feed = Feed(_identity(status), data, gzip.compress(data, compresslevel=6, mtime=0), f'"{digest}"',
                    f'"{digest}-gzip"', status.st_mtime)
        self._read[name] = feed
        return feed


def _identity(status: os.stat_result) -> tuple:
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns


def accepts_gzip(header: str) -> bool:
    for coding in header.lower().split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def not_modified(header: str, feed: Feed) -> bool:
    """``If-None-Match`` names the feed as it is now (either encoding; weak comparison)."""
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or feed.etag in tags or feed.etag_gzip in tags


def feed_answer(feed: Feed, accept_encoding: str, if_none_match: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The status, headers and body of a GET of ``feed``."""
    compressed = accepts_gzip(accept_encoding) if accept_encoding else False
    headers = [(b"etag", (feed.etag_gzip if compressed else feed.etag).encode()),
               (b"cache-control", FEED_CACHE_CONTROL), (b"vary", b"Accept-Encoding")]
    if if_none_match and not_modified(if_none_match, feed):
        return 304, headers, b""
    body = feed.gzipped if compressed else feed.data
    headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if compressed:
        headers.append((b"content-encoding", b"gzip"))
    return 200, headers, body
