"""``showroom ledger``: the event's public key, exports with proofs, offline verification and audit."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from showroom.cli.args import add_data_dir, add_database, count
from showroom.defaults import DATA_DIR

FMT = argparse.RawDescriptionHelpFormatter


def register(sub: Any) -> None:
    """Add ``ledger pubkey``, ``export``, ``verify`` and ``audit``."""
    ledger = sub.add_parser("ledger", help="Meta-Pass ledger tools: public key, export, offline verify, audit",
                            formatter_class=FMT,
                            epilog="examples:\n  showroom ledger pubkey --data-dir data\n"
                            "  showroom ledger export 12 --data-dir data --out voucher.json\n"
                            "  showroom ledger verify voucher.json --key PUBKEY\n  showroom ledger audit --data-dir data\n"
                            "  showroom ledger audit --data-dir data --database postgresql://showroom@db.local/events")
    actions = ledger.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)
    pub = actions.add_parser("pubkey", help="print the event's Ed25519 public key (hex)", formatter_class=FMT,
                             epilog=f"example:\n  showroom ledger pubkey --data-dir {DATA_DIR}")
    add_data_dir(pub)
    pub.set_defaults(handler=_pubkey)
    exp = actions.add_parser("export", help="write one entry with its inclusion proof and a signed checkpoint",
                             formatter_class=FMT,
                             epilog=f"example:\n  showroom ledger export 12 --data-dir {DATA_DIR} --out voucher.json")
    exp.add_argument("id", type=count, help="entry number (an award's or redemption's seq)")
    add_data_dir(exp)
    _add_store(exp)
    exp.add_argument("--out", help="file to write (default: print)")
    exp.set_defaults(handler=_export)
    ver = actions.add_parser("verify", help="verify an exported entry offline with the event's public key",
                             formatter_class=FMT,
                             epilog="example:\n  showroom ledger verify voucher.json --key $(showroom ledger pubkey)")
    ver.add_argument("file")
    ver.add_argument("--key", required=True, help="the event's public key, hex")
    ver.set_defaults(handler=_verify)
    aud = actions.add_parser("audit", help="recompute the whole log, check every signature and checkpoint",
                             formatter_class=FMT, epilog=f"example:\n  showroom ledger audit --data-dir {DATA_DIR}")
    add_data_dir(aud)
    _add_store(aud)
    aud.set_defaults(handler=_audit)


def _add_store(parser: argparse.ArgumentParser) -> None:
    add_database(parser)
    parser.add_argument("--event", default=None, metavar="ID",
                        help="with --database: the event whose ledger to read (needed when it holds several)")


def _database(args: argparse.Namespace) -> str | None:
    from showroom.settings import load_settings

    return load_settings(data_dir=args.data_dir, database=args.database).database


def _data_dir(args: argparse.Namespace) -> str:
    from showroom.settings import load_settings

    return str(load_settings(data_dir=args.data_dir).data_dir)


def _pubkey(args: argparse.Namespace) -> int:
    from server.storage.ledger_files import public_key_of

    print(public_key_of(_data_dir(args)))
    return 0


def _export(args: argparse.Namespace) -> int:
    from server.storage.ledger_files import export_entry

    doc = export_entry(_data_dir(args), args.id, _database(args), args.event)
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    if args.out:
        from pathlib import Path

        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote entry {args.id} to {args.out}")
    else:
        print(text)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from showroom.errors import ShowroomError
    from showroom.ledger import verify_export

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ShowroomError(f"{args.file}: cannot read: {exc.strerror}") from None
    result = verify_export(text, args.key)
    record = result.record
    print(f"{args.file}: valid: entry {result.leaf_index} ({record.kind} of {record.entitlement} to {record.visitor}) "
          f"is in the log of '{result.checkpoint.event}' of size {result.checkpoint.size}, signed by {args.key[:16]}…")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from server.storage.ledger_files import audit_dir

    data_dir = _data_dir(args)
    database = _database(args)
    problems, size, checkpoints = audit_dir(data_dir, database, args.event)
    where = database or data_dir
    if problems:
        for line in problems:
            print(f"{where}: {line}", file=sys.stderr)
        print(f"audit FAILED: {len(problems)} problem(s) in {size} entries", file=sys.stderr)
        return 1
    print(f"audit passed: {size} entries, {checkpoints} checkpoints, every signature and proof holds")
    return 0
