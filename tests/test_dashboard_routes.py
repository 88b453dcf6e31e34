"""The host dashboard's files over plain HTTP on the event's port: served from memory with their types,
nothing outside the page's folder, and every file carried in a wheel."""

from __future__ import annotations

import http.client
import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from conftest import ROOT
from dashboard_harness import Served

from server.net.dashboard import FOLDER, Dashboard


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = Served(tmp_path_factory.mktemp("data"))
    yield served
    served.stop()


def get(served: Served, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(served.server.host, served.server.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_the_page_is_served_at_host_with_its_type_and_a_strict_policy(served):
    for path in ("/host", "/host/", "/host/index.html", "/host?x=1"):
        status, headers, body = get(served, path)
        assert status == 200, path
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert b"<title>Showroom" in body
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(("path", "kind"), [
    ("/host/app.js", "text/javascript; charset=utf-8"),
    ("/host/vendor/htm-preact.module.js", "text/javascript; charset=utf-8"),
    ("/host/vendor/msgpack.min.js", "text/javascript; charset=utf-8"),
    ("/host/vendor/chart.umd.min.js", "text/javascript; charset=utf-8"),
    ("/host/vendor/pico.min.css", "text/css; charset=utf-8"),
    ("/host/app.css", "text/css; charset=utf-8"),
    ("/host/vendor/LICENSE-chartjs.txt", "text/plain; charset=utf-8"),
])
def test_scripts_styles_and_licences_have_their_content_type(served, path, kind):
    status, headers, body = get(served, path)
    assert (status, headers["content-type"]) == (200, kind)
    assert body == (FOLDER / path.removeprefix("/host/")).read_bytes()


@pytest.mark.parametrize("path", [
    "/host/../transport.py", "/host/%2e%2e/transport.py", "/host/..%2fdashboard.py", "/host//etc/passwd",
    "/host/vendor", "/host/vendor/", "/host/nothing.js", "/host/app.js/", "/hostile", "/host/README",
])
def test_nothing_outside_the_pages_files_is_served(served, path):
    status, _, body = get(served, path)
    assert status == 404, path
    assert b"import" not in body and b"root:" not in body


def test_another_method_than_get_is_refused(served):
    with socket.create_connection((served.server.host, served.server.port), timeout=10) as sock:
        sock.sendall(b"POST /host HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 4") and b"200" not in head.split(b"\r\n")[0]


def test_healthz_and_the_websocket_still_answer(served):
    assert get(served, "/healthz")[0] == 200
    assert get(served, "/metrics")[1]["content-type"] == "application/json"


def test_files_are_read_once_and_only_known_kinds(tmp_path: Path):
    (tmp_path / "index.html").write_text("<p>page</p>")
    (tmp_path / "app.js").write_text("export {}")
    (tmp_path / "secret.py").write_text("TOKEN = 1")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "lib.js").write_text("1")
    dashboard = Dashboard(tmp_path)
    (tmp_path / "app.js").write_text("changed")  # read at start, answered from memory
    found = dashboard.find(b"/host/app.js")
    assert found is not None and found.body == b"export {}"
    assert dashboard.find(b"/host") is dashboard.find(b"/host/index.html")
    assert dashboard.find(b"/host/vendor/lib.js") is not None
    assert dashboard.find(b"/host/secret.py") is None
    assert Dashboard(tmp_path / "missing").find(b"/host") is None  # an install without the page still serves


def test_a_wheel_carries_every_file_of_the_page():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["server.net"]
    files = [p.relative_to(FOLDER.parent).as_posix() for p in FOLDER.rglob("*") if p.is_file()]
    assert files and all(any(PurePosixPath(f).match(pattern) for pattern in patterns) for f in files), files
