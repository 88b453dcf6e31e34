"""The event's Ed25519 signing key: create, store (mode 0600), load, and the public key as hex."""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from showroom.ledger.errors import LedgerError

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def generate_private_key() -> Ed25519PrivateKey:
    """A new random Ed25519 signing key."""
    return Ed25519PrivateKey.generate()


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    """The Ed25519 key for a 32-byte seed (RFC 8032 secret key); for tests and worked examples."""
    if len(seed) != 32:
        raise LedgerError(f"an Ed25519 seed is 32 bytes, got {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def save_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Write ``key`` to ``path`` as unencrypted PKCS#8 PEM, mode 0600; never overwrites an existing file.

    The file appears complete or not at all (written beside it, fsynced, then hard-linked into
    place), so a crash while creating it cannot leave a truncated key behind.
    """
    path = Path(path)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mode 0600
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
                f.flush()
                os.fsync(f.fileno())
            os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except FileExistsError:
        raise LedgerError(f"{path}: a key file already exists; refusing to overwrite the event's key") from None
    except OSError as exc:
        raise LedgerError(f"{path}: cannot write the ledger key: {exc.strerror}") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a private key file: PKCS#8 PEM, or the 32 raw seed bytes. Refuses a file others may read."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise LedgerError(f"{path}: cannot read the ledger key: {exc.strerror}") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LedgerError(f"{path}: the ledger key is readable by others (mode {stat.S_IMODE(mode):04o});"
                          f" run chmod 600 {path}")
    if len(data) == 32:
        return Ed25519PrivateKey.from_private_bytes(data)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise LedgerError(f"{path}: not an Ed25519 private key (PEM or 32 raw bytes): {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerError(f"{path}: holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    """Load the key at ``path``, creating it (mode 0600) first if there is none; safe if two processes race."""
    path = Path(path)
    if not path.exists():
        try:
            save_private_key(generate_private_key(), path)
        except LedgerError:
            if not path.exists():
                raise
    return load_private_key(path)


def public_key_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key as 64 lowercase hex digits (its 32 raw bytes, RFC 8032 encoding)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def parse_public_key(key: str | Ed25519PublicKey) -> Ed25519PublicKey:
    """An Ed25519 public key from 64 hex digits (or a key object, returned as is)."""
    if isinstance(key, Ed25519PublicKey):
        return key
    if not isinstance(key, str) or not _HEX64.match(key.strip()):
        shown = key if isinstance(key, str) else type(key).__name__
        raise LedgerError(f"public key: expected 64 hex digits (32 bytes), got {shown!r:.80}")
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(key.strip()))
    except ValueError as exc:
        raise LedgerError(f"public key: not a valid Ed25519 key: {exc}") from None


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    """Sign ``message``; the 64-byte Ed25519 signature as standard base64 (with padding)."""
    return base64.b64encode(key.sign(message)).decode("ascii")


def verify_signature(public: Ed25519PublicKey, message: bytes, sig: object, what: str) -> None:
    """Check a base64 Ed25519 signature of ``message``; raise LedgerError naming ``what`` if it does not hold."""
    if not isinstance(sig, str):
        raise LedgerError(f"{what}: the signature must be a base64 string, got {type(sig).__name__}")
    try:
        raw = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        raise LedgerError(f"{what}: the signature is not valid base64") from None
    if len(raw) != SIGNATURE_SIZE:
        raise LedgerError(f"{what}: an Ed25519 signature is {SIGNATURE_SIZE} bytes, got {len(raw)}")
    if base64.b64encode(raw).decode("ascii") != sig:
        raise LedgerError(f"{what}: the signature is not in canonical base64 (padded, standard alphabet)")
    try:
        public.verify(raw, message)
    except InvalidSignature:
        raise LedgerError(f"{what}: the signature does not match (forged, altered, or signed by another key)"
                          ) from None
