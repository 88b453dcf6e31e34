"""A private Redis server for tests: Debian's ``redis-server`` on a free port of 127.0.0.1, in a temporary
folder, with persistence off, stopped and removed afterwards.

Never skipped: without the binary the tests that need it fail and say what to install. ``restart()``
stops and starts it on the same port, and since nothing is saved it comes back empty: that is how a
test shows what workers do when the broker loses its state.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_START_TIMEOUT_S = 10.0


def _binary() -> str:
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(found).exists():
        raise RuntimeError("redis-server is not installed: apt-get install redis-server (or run .ci/run)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers_ping(port: int) -> bool:
    """Whether a Redis server on the port answers PING (inline command, no client library needed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class PrivateRedis:
    """One ``redis-server`` process that a test owns; ``url`` stays the same across ``restart()``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers PING; fail with its log if it exits or stays silent."""
        log = self.root / "redis.log"
        self._process = subprocess.Popen(
            [_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root), "--daemonize", "no", "--logfile", str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if _answers_ping(self.port):
                return
            if self._process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        text = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        raise RuntimeError(f"could not start a private Redis on 127.0.0.1:{self.port}: {text}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers); its data is gone since nothing is saved."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def restart(self) -> None:
        """Stop the server and start an empty one on the same port."""
        self.stop()
        self.start()


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """Start a private server; yield it (``.url`` is ``redis://127.0.0.1:PORT/0``); stop it and remove its folder."""
    root = Path(tempfile.mkdtemp(prefix="showroom-redis-"))
    server = PrivateRedis(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
