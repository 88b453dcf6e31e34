"""The signed formats of the ledger: award and redemption records, log entries and checkpoints.

Everything signed or hashed is canonical JSON (see :func:`canonical_json`), so another language
can rebuild the exact bytes. Records hold only strings, integers below 2**53 and nulls, never
floats, which makes this canonical form identical to RFC 8785 (JCS) for them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from showroom.ledger.errors import LedgerError
from showroom.ledger.keys import parse_public_key, sign, verify_signature

LEDGER_VERSION = 1
MAX_INT = 2**53 - 1
"""Largest integer a record may hold: every JSON implementation reads it exactly."""

_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
_HEX32 = re.compile(r"^[0-9a-f]{64}$")


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys, no whitespace and non-ASCII kept as is: the bytes that are signed and hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def format_time(t: dt.datetime) -> str:
    """An aware datetime as RFC 3339 UTC with milliseconds: ``2026-11-20T18:30:05.123Z``."""
    if t.tzinfo is None:
        raise LedgerError(f"time {t.isoformat()} has no UTC offset; ledger times must be aware")
    t = t.astimezone(dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse_time(text: str) -> dt.datetime:
    """Read an RFC 3339 UTC time as written in records (``Z`` suffix, up to 6 fraction digits)."""
    if not isinstance(text, str) or not _TIME.match(text):
        raise LedgerError(f"time {text!r:.60}: expected RFC 3339 UTC such as 2026-11-20T18:30:05.123Z")
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise LedgerError(f"time {text!r}: {exc}") from None


def _time(text: str) -> str:
    if not _TIME.match(text):
        raise ValueError("expected RFC 3339 UTC such as 2026-11-20T18:30:05.123Z")
    dt.datetime.fromisoformat(text)
    return text


def _utf8(text: str) -> str:
    text.encode("utf-8")  # a lone surrogate has no UTF-8 form and so no canonical bytes
    return text


def _hex32(text: str) -> str:
    if not _HEX32.match(text):
        raise ValueError("expected 64 lowercase hex digits")
    return text


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_utf8)]
Seq = Annotated[int, Field(ge=0, le=MAX_INT)]
Time = Annotated[str, AfterValidator(_time)]
Hex32 = Annotated[str, AfterValidator(_hex32)]
Version = Annotated[int, Field(ge=LEDGER_VERSION, le=LEDGER_VERSION)]
EntitlementKind = Literal["metapass", "early_access", "voucher", "badge"]


class _Signed(BaseModel):
    # strict: 1.0 is not 1 and true is not 1; forbid: an unknown key is an altered record
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class AwardRecord(_Signed):
    """An entitlement granted to a visitor by a rule; ``unit`` is which unit of limited stock, if any."""

    v: Version
    kind: Literal["award"]
    event: Name
    seq: Seq
    rule: Name
    entitlement: Name
    entitlement_kind: EntitlementKind
    visitor: Name
    at: Time
    valid_from: Time
    valid_until: Time | None
    unit: Seq | None

    @model_validator(mode="after")
    def _window(self) -> AwardRecord:
        if self.valid_until is not None and parse_time(self.valid_until) < parse_time(self.valid_from):
            raise ValueError(f"valid_until {self.valid_until} is before valid_from {self.valid_from}")
        return self


class RedeemRecord(_Signed):
    """A visitor spending the award logged at ``award_seq``."""

    v: Version
    kind: Literal["redeem"]
    event: Name
    seq: Seq
    award_seq: Seq
    entitlement: Name
    visitor: Name
    at: Time

    @model_validator(mode="after")
    def _after_award(self) -> RedeemRecord:
        if self.award_seq >= self.seq:
            raise ValueError(f"award_seq {self.award_seq} must come before this record's seq {self.seq}")
        return self


Record = Annotated[AwardRecord | RedeemRecord, Field(discriminator="kind")]
_RECORD: TypeAdapter[AwardRecord | RedeemRecord] = TypeAdapter(Record)


class Checkpoint(_Signed):
    """The log's state at one moment: ``size`` entries whose Merkle root is ``root`` (hex)."""

    event: Name
    size: Seq
    root: Hex32
    time: Time

    @property
    def root_bytes(self) -> bytes:
        """The root as 32 bytes."""
        return bytes.fromhex(self.root)


def _shape_error(what: str, exc: ValidationError) -> LedgerError:
    problems = []
    for err in exc.errors()[:3]:
        path = ".".join(str(p) for p in err["loc"] if p not in ("award", "redeem"))
        problems.append(f"{what}.{path}: {err['msg']}" if path else f"{what}: {err['msg']}")
    more = f" (and {exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return LedgerError("; ".join(problems) + more)


_Model = TypeVar("_Model", bound=_Signed)


def _build(cls: type[_Model], fields: dict[str, Any]) -> _Model:
    try:
        return cls.model_validate(fields)
    except ValidationError as exc:
        raise _shape_error("record", exc) from None


def award_record(*, event: str, seq: int, rule: str, entitlement: str, entitlement_kind: str, visitor: str,
                 at: dt.datetime, valid_from: dt.datetime, valid_until: dt.datetime | None,
                 unit: int | None) -> AwardRecord:
    """Build an award record (times are aware datetimes, written as RFC 3339 UTC)."""
    return _build(AwardRecord, {
        "v": LEDGER_VERSION, "kind": "award", "event": event, "seq": seq, "rule": rule,
        "entitlement": entitlement, "entitlement_kind": entitlement_kind, "visitor": visitor,
        "at": format_time(at), "valid_from": format_time(valid_from),
        "valid_until": None if valid_until is None else format_time(valid_until), "unit": unit,
    })


def redeem_record(*, event: str, seq: int, award_seq: int, entitlement: str, visitor: str,
                  at: dt.datetime) -> RedeemRecord:
    """Build a redemption record for the award at ``award_seq``."""
    return _build(RedeemRecord, {
        "v": LEDGER_VERSION, "kind": "redeem", "event": event, "seq": seq, "award_seq": award_seq,
        "entitlement": entitlement, "visitor": visitor, "at": format_time(at),
    })


def parse_record(value: object) -> AwardRecord | RedeemRecord:
    """Check a decoded JSON object against the record formats; raise LedgerError naming the bad field."""
    if not isinstance(value, dict):
        raise LedgerError(f"record: expected a JSON object, got {type(value).__name__}")
    try:
        return _RECORD.validate_python(value)
    except ValidationError as exc:
        raise _shape_error("record", exc) from None


def record_bytes(record: AwardRecord | RedeemRecord) -> bytes:
    """The canonical JSON of a record: the bytes its signature covers."""
    return canonical_json(record.model_dump())


@dataclass(frozen=True)
class Entry:
    """A decoded log entry: the record, its canonical bytes and the base64 signature over them."""

    record: AwardRecord | RedeemRecord
    record_bytes: bytes
    sig: str


def encode_entry(record: AwardRecord | RedeemRecord, key: Ed25519PrivateKey) -> bytes:
    """Sign ``record`` and return the log entry ``{"record":…,"sig":…}`` as canonical JSON (the leaf's input)."""
    data = record_bytes(record)
    return canonical_json({"record": record.model_dump(), "sig": sign(key, data)})


def decode_entry(entry: bytes) -> Entry:
    """Parse a log entry and check its shape and canonical form (not its signature: see :func:`verify_entry`)."""
    if not isinstance(entry, (bytes, bytearray)):
        raise LedgerError(f"entry: expected bytes, got {type(entry).__name__}")
    try:
        doc = json.loads(bytes(entry).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise LedgerError(f"entry: not UTF-8 JSON ({exc})") from None
    if not isinstance(doc, dict) or set(doc) != {"record", "sig"}:
        keys = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
        raise LedgerError(f"entry: expected an object with exactly the keys record and sig, got {keys}")
    record = parse_record(doc["record"])
    if not isinstance(doc["sig"], str):
        raise LedgerError("entry.sig: expected a base64 string")
    if canonical_json(doc) != entry:
        raise LedgerError("entry: not in canonical JSON form (sorted keys, no whitespace, UTF-8)")
    return Entry(record, record_bytes(record), doc["sig"])


def verify_entry(entry: bytes, public_key: str | Ed25519PublicKey) -> Entry:
    """Decode a log entry and check the event's signature over its record; raise LedgerError if either fails."""
    decoded = decode_entry(entry)
    verify_signature(parse_public_key(public_key), decoded.record_bytes, decoded.sig,
                     f"entry seq {decoded.record.seq}")
    return decoded


def checkpoint_bytes(checkpoint: Checkpoint) -> bytes:
    """The canonical JSON of a checkpoint's four fields: the bytes its signature covers."""
    return canonical_json(checkpoint.model_dump())


def sign_checkpoint(key: Ed25519PrivateKey, *, event: str, size: int, root: bytes,
                    time: dt.datetime) -> dict[str, Any]:
    """A signed checkpoint ``{"event","size","root","time","sig"}`` as a JSON-ready dict."""
    try:
        cp = Checkpoint(event=event, size=size, root=root.hex(), time=format_time(time))
    except ValidationError as exc:
        raise _shape_error("checkpoint", exc) from None
    return {**cp.model_dump(), "sig": sign(key, checkpoint_bytes(cp))}


def verify_checkpoint(signed: Mapping[str, Any], public_key: str | Ed25519PublicKey) -> Checkpoint:
    """Check a signed checkpoint's shape and signature; return its fields or raise LedgerError."""
    if not isinstance(signed, Mapping):
        raise LedgerError(f"checkpoint: expected a JSON object, got {type(signed).__name__}")
    fields = {k: v for k, v in signed.items() if k != "sig"}
    if "sig" not in signed:
        raise LedgerError("checkpoint: no sig")
    try:
        cp = Checkpoint.model_validate(fields)
    except ValidationError as exc:
        raise _shape_error("checkpoint", exc) from None
    verify_signature(parse_public_key(public_key), checkpoint_bytes(cp), signed["sig"],
                     f"checkpoint of size {cp.size}")
    return cp
