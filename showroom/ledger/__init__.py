"""The Meta-Pass ledger, core part: Merkle hashing and proofs, signed record formats, offline verification.

Everything a visitor or auditor needs to check an entitlement without the server; the server
owns storage and calls these functions (see docs/ledger.md).
"""

from showroom.ledger.errors import LedgerError
from showroom.ledger.keys import (
    generate_private_key,
    load_or_create_private_key,
    load_private_key,
    parse_public_key,
    private_key_from_seed,
    public_key_hex,
    save_private_key,
)
from showroom.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    SubtreeCache,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_of_entries,
    root_of_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from showroom.ledger.records import (
    AwardRecord,
    Checkpoint,
    Entry,
    RedeemRecord,
    award_record,
    canonical_json,
    decode_entry,
    encode_entry,
    format_time,
    parse_record,
    parse_time,
    record_bytes,
    redeem_record,
    sign_checkpoint,
    verify_checkpoint,
    verify_entry,
)
from showroom.ledger.verify import VerifiedExport, audit, export_document, verify_checkpoint_consistency, verify_export

__all__ = [
    "EMPTY_ROOT", "AwardRecord", "Checkpoint", "CompactRange", "Entry", "LedgerError", "RedeemRecord",
    "SubtreeCache", "VerifiedExport", "audit", "award_record", "canonical_json", "consistency_proof",
    "decode_entry", "encode_entry", "export_document", "format_time", "generate_private_key", "inclusion_proof",
    "leaf_hash", "load_or_create_private_key", "load_private_key", "node_hash", "parse_public_key",
    "parse_record", "parse_time", "private_key_from_seed", "public_key_hex", "record_bytes", "redeem_record",
    "root_from_inclusion_proof", "root_of_entries", "root_of_leaf_hashes", "save_private_key",
    "sign_checkpoint", "verify_checkpoint", "verify_checkpoint_consistency", "verify_consistency",
    "verify_entry", "verify_export", "verify_inclusion",
]
