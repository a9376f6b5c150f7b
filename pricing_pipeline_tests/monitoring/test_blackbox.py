"""The blackbox module that probes the Dagster webserver's /server_info: the config is valid,
and a real blackbox exporter counts a webserver up only when /server_info answers like Dagster."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request

import pytest

from pricing_pipeline_tests.monitoring._support import (
    BLACKBOX_CONFIG,
    FakeDagsterWebserver,
    free_port,
    http_server,
    run,
    tool,
    tool_server,
)

MODULE = "dagster_server_info"


def test_blackbox_config_check_is_clean():
    result = run([tool("prometheus-blackbox-exporter"), "--config.check", f"--config.file={BLACKBOX_CONFIG}"])
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "level=warn" not in out and "level=error" not in out, out


@pytest.fixture(scope="module")
def webserver():
    with http_server(FakeDagsterWebserver) as server:
        yield server.url


@pytest.fixture(scope="module")
def blackbox(tmp_path_factory):
    log = tmp_path_factory.mktemp("blackbox") / "blackbox.log"
    args = [tool("prometheus-blackbox-exporter"), f"--config.file={BLACKBOX_CONFIG}", "--web.listen-address=127.0.0.1:{port}"]
    with tool_server(args, "/-/healthy", log) as url:
        yield url


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
