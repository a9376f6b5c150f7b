"""The blackbox module that probes the Dagster webserver's /server_info: the config is valid,
and a real blackbox exporter counts a webserver up only when /server_info answers like Dagster."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pricing_pipeline_tests.monitoring._support import BLACKBOX_CONFIG, background, free_port, run, tool

MODULE = "dagster_server_info"


def test_blackbox_config_check_is_clean():
    result = run([tool("prometheus-blackbox-exporter"), "--config.check", f"--config.file={BLACKBOX_CONFIG}"])
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "level=warn" not in out and "level=error" not in out, out


class FakeWebserver(BaseHTTPRequestHandler):
    """/server_info like dagster-webserver's; /proxy_error like a proxy in front of a dead one."""

    def do_GET(self):  # noqa: N802
        if self.path == "/server_info":
            body = json.dumps({"dagster_webserver_version": "1.13.27", "dagster_version": "1.13.27",
                               "dagster_graphql_version": "1.13.27"}).encode()
            status = 200
        elif self.path == "/proxy_error":
            body, status = b"<html>Bad gateway</html>", 200
        else:
            body, status = b"nope", 503
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def webserver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWebserver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def blackbox(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("blackbox") / "blackbox.log"
    args = [tool("prometheus-blackbox-exporter"), f"--config.file={BLACKBOX_CONFIG}",
            f"--web.listen-address=127.0.0.1:{port}"]
    with background(args, f"http://127.0.0.1:{port}/-/healthy", log):
        yield f"http://127.0.0.1:{port}"


def _probe(blackbox: str, target: str) -> float:
    url = f"{blackbox}/probe?" + urllib.parse.urlencode({"module": MODULE, "target": target})
    with urllib.request.urlopen(url, timeout=15) as response:
        text = response.read().decode()
    return float(re.search(r"^probe_success (\S+)$", text, re.M).group(1))


@pytest.mark.parametrize("path,up", [("/server_info", 1.0), ("/proxy_error", 0.0), ("/missing", 0.0)])
def test_probe_success_only_for_a_dagster_server_info(blackbox, webserver, path, up):
    assert _probe(blackbox, webserver + path) == up


def test_probe_of_a_closed_port_fails(blackbox):
    assert _probe(blackbox, f"http://127.0.0.1:{free_port()}/server_info") == 0.0
