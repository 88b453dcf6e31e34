"""A private PostgreSQL server for tests: a fresh cluster in a temporary folder on a free port of
127.0.0.1, started with Debian's binaries (``.ci/run`` installs them) and removed afterwards.

Never skipped: without the binaries the tests that need it fail and say what to install.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USER = "showroom"
SYSTEM_USER = "postgres"
"""Debian's account for the server: PostgreSQL refuses to run as root, so a root test runs it as this user."""


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: apt-get install postgresql (or run .ci/run)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_postgres() -> Iterator[str]:
    """Start a private server; yield its URL (``postgresql://showroom@127.0.0.1:PORT/postgres``); stop it."""
    root = Path(tempfile.mkdtemp(prefix="showroom-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, SYSTEM_USER)
        as_user = ["runuser", "-u", SYSTEM_USER, "--"]
    data, sockets = root / "data", root / "sock"
    port = _free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True, timeout=120)

    try:
        run("mkdir", str(sockets))
        run(_binary("initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync")
        run(_binary("pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(root / "log"), "-o",
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c max_connections=400", "start")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start a private PostgreSQL: {exc.stderr or exc.stdout}") from None
    try:
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, _binary("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
