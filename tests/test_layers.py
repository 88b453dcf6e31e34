"""Who may import whom (DESIGN.md), and the wire contract in one home: the core loads no server,
client or bots; the server builds every message it sends from the typed models; no wire code is
copied outside ``showroom/protocol``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

CORE = ("showroom.scene", "showroom.sim", "showroom.protocol", "showroom.ledger")
NOT_IN_THE_CORE = ("server", "showroom.client", "showroom.bots", "showroom.host", "showroom.cli", "panda3d", "direct",
                   "websockets", "picows")


def _loaded_by(module: str) -> set[str]:
    """Every module a fresh interpreter has loaded after importing ``module``."""
    code = f"import sys, {module}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("core", CORE)
def test_the_core_imports_no_server_client_bots_or_io(core):
    loaded = _loaded_by(core)
    leaked = sorted(m for m in loaded if any(m == bad or m.startswith(bad + ".") for bad in NOT_IN_THE_CORE))
    assert not leaked, f"importing {core} loads {leaked[:8]}"


def test_the_server_imports_no_client_and_no_panda3d():
    loaded = _loaded_by("server.net.app")
    leaked = sorted(m for m in loaded if m.split(".")[0] in ("panda3d", "direct") or m.startswith("showroom.client"))
    assert not leaked, f"the server loads {leaked[:8]}"


def _python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_no_message_is_built_as_a_dict_literal():
    """The server sends models of showroom.protocol.server_messages; the bots, the client and the
    host console send models of showroom.protocol.client_messages."""
    found = []
    for path in _python_files("server", "showroom/bots", "showroom/client", "showroom/host"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "type" for k in node.keys):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, f"message dicts built by hand: {found}"


def test_snapshots_are_decoded_only_by_the_protocol():
    """Nobody but showroom/protocol knows that positions are uint16 centimetres or ids uint32."""
    found = [f"{path.relative_to(ROOT)}" for path in _python_files("showroom", "server")
             if not path.is_relative_to(ROOT / "showroom" / "protocol")
             and any(fmt in path.read_text() for fmt in ('"<u2"', '"<u4"', "'<u2'", "'<u4'"))]
    assert not found, f"snapshots decoded by hand in {found}"


def test_audience_behaviour_does_not_import_the_world_that_calls_it():
    loaded = _loaded_by("showroom.sim.behaviour")
    assert "showroom.sim.world" not in loaded


def test_no_wire_code_is_copied_outside_the_protocol():
    """The reaction names, the movement kinds and the activity codes are written once, in showroom/protocol."""
    reactions = ("applause", "heart", "wow", "laugh", "fire", "camera")
    copies = []
    for path in _python_files("showroom", "server"):
        if path.is_relative_to(ROOT / "showroom" / "protocol"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Tuple, ast.List)):
                names = [e.value for e in node.elts if isinstance(e, ast.Constant)]
                if len(set(names) & set(reactions)) >= 3:
                    copies.append(f"{path.relative_to(ROOT)}:{node.lineno}: the reaction names")
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in
                                                    ("MOVE_TO", "MOVE_DIR", "SELFIE", "SELFIE_ACTIVITY", "WALK", "POSE")
                                                    for t in node.targets):
                copies.append(f"{path.relative_to(ROOT)}:{node.lineno}: a movement or activity code")
    assert not copies, copies
