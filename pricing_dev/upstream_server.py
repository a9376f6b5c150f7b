"""A real HTTP server on 127.0.0.1 that stands in for provider APIs in tests.

Routes map a path to a canned response (status, headers, body, optional delay); every
request is recorded so tests can assert what was sent (e.g. the Authorization header).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay_seconds: float = 0.0


# A route whose headers carry these answers a conditional request that names them with 304,
# as an upstream honouring ETag / Last-Modified does.
VALIDATORS = ("ETag", "Last-Modified")


def not_modified(route_headers: dict[str, str], request_headers) -> bool:
    etag, modified = route_headers.get("ETag"), route_headers.get("Last-Modified")
    if etag and request_headers.get("If-None-Match"):
        return request_headers["If-None-Match"] == etag
    return bool(modified) and request_headers.get("If-Modified-Since") == modified


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str]


class UpstreamServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route | list[Route]] = {}
        # path prefix -> (folder, path suffix): `<prefix>/<name><suffix>` answers `<folder>/<name>.json`
        self.trees: dict[str, tuple[Path, str]] = {}
        self.requests: list[SeenRequest] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.requests.append(SeenRequest(self.path, dict(self.headers)))
                route = server.routes.get(self.path.split("?")[0])
                if isinstance(route, list):  # a sequence: one response per request, last repeats
                    route = route.pop(0) if len(route) > 1 else route[0]
                if route is None:
                    route = server.tree_route(self.path.split("?")[0])
                if route is None:
                    route = Route(404, b'{"error":"not found"}')
                if route.delay_seconds:
                    time.sleep(route.delay_seconds)
                if route.status == 200 and not_modified(route.headers, self.headers):
                    route = Route(304, b"", {k: v for k, v in route.headers.items() if k in VALIDATORS})
                try:
                    self.send_response(route.status)
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def serve(self, path: str, body: bytes | str = b"", status: int = 200, **route_args) -> str:
        if isinstance(body, str):
            body = body.encode()
        self.routes[path] = Route(status=status, body=body, **route_args)
        return self.url(path)

    def serve_sequence(self, path: str, routes: list[Route]) -> str:
        """Answer successive requests with successive routes (the last one repeats)."""
        self.routes[path] = list(routes)
        return self.url(path)

    def serve_tree(self, prefix: str, folder: Path, suffix: str = "") -> str:
        """Answer ``<prefix>/<name><suffix>`` with the file ``<folder>/<name>.json`` (404 when
        there is none): e.g. OpenRouter's per-model endpoint lists."""
        self.trees[prefix.rstrip("/")] = (Path(folder), suffix)
        return self.url(prefix)

    def tree_route(self, path: str) -> Route | None:
        for prefix, (folder, suffix) in self.trees.items():
            if path.startswith(prefix + "/") and path.endswith(suffix):
                name = unquote(path[len(prefix) + 1 : len(path) - len(suffix)])
                file = (folder / f"{name}.json").resolve()
                if ".." not in name.split("/") and file.is_file() and folder.resolve() in file.parents:
                    return Route(body=file.read_bytes())
        return None

    def requests_to(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.path.split("?")[0] == path]

    def serve_file(self, path: str, file: Path, **route_args) -> str:
        return self.serve(path, file.read_bytes(), **route_args)

    def start(self) -> UpstreamServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
