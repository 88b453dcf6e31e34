"""The core ledger: RFC 9162 Merkle proofs, signed records and checkpoints, offline verify and audit."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from showroom.errors import ShowroomError
from showroom.ledger import (
    EMPTY_ROOT,
    CompactRange,
    LedgerError,
    SubtreeCache,
    audit,
    award_record,
    canonical_json,
    consistency_proof,
    decode_entry,
    encode_entry,
    export_document,
    generate_private_key,
    inclusion_proof,
    leaf_hash,
    load_or_create_private_key,
    load_private_key,
    node_hash,
    parse_public_key,
    private_key_from_seed,
    public_key_hex,
    redeem_record,
    root_from_inclusion_proof,
    root_of_entries,
    root_of_leaf_hashes,
    save_private_key,
    sign_checkpoint,
    verify_checkpoint,
    verify_checkpoint_consistency,
    verify_consistency,
    verify_entry,
    verify_export,
    verify_inclusion,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "ledger.md"
UTC = dt.UTC
T0 = dt.datetime(2026, 11, 20, 18, 0, 0, tzinfo=UTC)

# --------------------------------------------------------------------------------------------
# RFC 6962 test vectors, as published by the Certificate Transparency reference implementation
# in Go: repository transparency-dev/merkle (commit 417fb0c3), leaf inputs and roots from
# testonly/constants.go (LeafInputs, NodeHashes, RootHashes), inclusion and consistency proofs
# from proof/verify_test.go (inclusionProofs, whose leaf numbers are 1-based, and
# consistencyProofs). The same vectors appear in google/certificate-transparency's
# merkle_tree_test.cc.
# --------------------------------------------------------------------------------------------
RFC_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
)]
RFC_LEAF_HASHES = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
)]
RFC_ROOTS = [bytes.fromhex(h) for h in (  # tree sizes 0..8
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
RFC_INCLUSION = [  # (1-based leaf number, tree size, audit path)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
RFC_CONSISTENCY = [  # (old size, new size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]


def _flip(h: bytes, bit: int = 3) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


def test_rfc6962_leaf_hashes_and_roots_for_every_size():
    assert [leaf_hash(x) for x in RFC_LEAVES] == RFC_LEAF_HASHES
    for size in range(9):
        assert root_of_entries(RFC_LEAVES[:size]) == RFC_ROOTS[size]
        assert root_of_leaf_hashes(RFC_LEAF_HASHES[:size]) == RFC_ROOTS[size]
    assert EMPTY_ROOT == RFC_ROOTS[0]


@pytest.mark.parametrize("leaf, size, path", RFC_INCLUSION)
def test_rfc6962_inclusion_proofs_are_generated_and_verified(leaf, size, path):
    proof = [bytes.fromhex(h) for h in path]
    assert inclusion_proof(RFC_LEAF_HASHES, leaf - 1, size) == proof
    verify_inclusion(leaf - 1, size, RFC_LEAF_HASHES[leaf - 1], proof, RFC_ROOTS[size])
    # the corruptions the reference tests try, each rejected
    probes = [(leaf - 2, size, RFC_LEAF_HASHES[leaf - 1], proof, RFC_ROOTS[size]),
              (leaf, size, RFC_LEAF_HASHES[leaf - 1], proof, RFC_ROOTS[size]),
              (leaf - 1, size * 2, RFC_LEAF_HASHES[leaf - 1], proof, RFC_ROOTS[size]),
              (leaf - 1, size // 2, RFC_LEAF_HASHES[leaf - 1], proof, RFC_ROOTS[size]),
              (leaf - 1, size, hashlib.sha256(b"WrongLeaf").digest(), proof, RFC_ROOTS[size]),
              (leaf - 1, size, RFC_LEAF_HASHES[leaf - 1], proof, EMPTY_ROOT),
              (leaf - 1, size, RFC_LEAF_HASHES[leaf - 1], proof + [RFC_ROOTS[size]], RFC_ROOTS[size]),
              (leaf - 1, size, RFC_LEAF_HASHES[leaf - 1], [RFC_ROOTS[size]] + proof, RFC_ROOTS[size])]
    probes += [(leaf - 1, size, RFC_LEAF_HASHES[leaf - 1], proof[:i] + [_flip(p)] + proof[i + 1:], RFC_ROOTS[size])
               for i, p in enumerate(proof)]
    if proof:
        probes.append((leaf - 1, size, RFC_LEAF_HASHES[leaf - 1], proof[:-1], RFC_ROOTS[size]))
    for probe in probes:
        with pytest.raises(LedgerError):
            verify_inclusion(*probe)


@pytest.mark.parametrize("old, new, path", RFC_CONSISTENCY)
def test_rfc6962_consistency_proofs_are_generated_and_verified(old, new, path):
    proof = [bytes.fromhex(h) for h in path]
    assert consistency_proof(RFC_LEAF_HASHES, old, new) == proof
    verify_consistency(old, new, RFC_ROOTS[old], RFC_ROOTS[new], proof)
    if not proof:
        return
    probes = [(old - 1, new, RFC_ROOTS[old], RFC_ROOTS[new], proof),
              (old + 1, new, RFC_ROOTS[old], RFC_ROOTS[new], proof),
              (old, new * 2, RFC_ROOTS[old], RFC_ROOTS[new], proof),
              (old, new, RFC_ROOTS[new], RFC_ROOTS[old], proof),
              (old, new, EMPTY_ROOT, RFC_ROOTS[new], proof),
              (old, new, RFC_ROOTS[old], RFC_ROOTS[new], []),
              (old, new, RFC_ROOTS[old], RFC_ROOTS[new], proof[:-1]),
              (old, new, RFC_ROOTS[old], RFC_ROOTS[new], proof + [RFC_ROOTS[old]]),
              (old, new, RFC_ROOTS[old], RFC_ROOTS[new], [proof[0]] + proof)]
    probes += [(old, new, RFC_ROOTS[old], RFC_ROOTS[new], proof[:i] + [_flip(p, 4)] + proof[i + 1:])
               for i, p in enumerate(proof)]
    for probe in probes:
        with pytest.raises(LedgerError):
            verify_consistency(*probe)


def test_compact_range_frontier_matches_the_reference_compact_trees():
    # transparency-dev/merkle testonly/constants.go CompactTrees(), from NodeHashes()
    level1 = ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"]
    level2 = "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
    h = RFC_LEAF_HASHES
    want = [[], [h[0]], [level1[0]], [level1[0], h[2]], [level2], [level2, h[4]], [level2, level1[2]],
            [level2, level1[2], h[6]], [RFC_ROOTS[8].hex()]]
    rng = CompactRange()
    for size in range(9):
        assert [x.hex() for x in rng.hashes] == [x if isinstance(x, str) else x.hex() for x in want[size]]
        assert rng.root() == RFC_ROOTS[size]
        resumed = CompactRange.from_state(rng.size, rng.hashes)
        assert resumed.root() == RFC_ROOTS[size]
        if size < 8:
            rng.append(h[size])


def test_compact_range_state_of_the_wrong_length_is_refused():
    with pytest.raises(LedgerError, match="3 frontier hashes"):
        CompactRange.from_state(7, [EMPTY_ROOT])


# --------------------------------------------------------------------------------------------
# Property tests against a naive recursive recomputation written straight from RFC 9162 §2.1.
# --------------------------------------------------------------------------------------------

def naive_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < len(d):
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:])).digest()


def naive_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m < k:
        return naive_path(m, d[:k]) + [naive_mth(d[k:])]
    return naive_path(m - k, d[k:]) + [naive_mth(d[:k])]


def naive_subproof(m: int, d: list[bytes], whole: bool) -> list[bytes]:
    if m == len(d):
        return [] if whole else [naive_mth(d)]
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m <= k:
        return naive_subproof(m, d[:k], whole) + [naive_mth(d[k:])]
    return naive_subproof(m - k, d[k:], False) + [naive_mth(d[:k])]


tree_and_index = st.lists(st.binary(max_size=6), min_size=1, max_size=70, unique=True).flatmap(
    lambda d: st.tuples(st.just(d), st.integers(0, len(d) - 1)))


@settings(max_examples=150, deadline=None)
@given(tree_and_index, st.booleans())
def test_inclusion_proofs_match_naive_recomputation(case, cached):
    entries, index = case
    leaves = [leaf_hash(e) for e in entries]
    root = naive_mth(entries)
    assert root_of_entries(entries) == root
    proof = inclusion_proof(leaves, index, cache=SubtreeCache() if cached else None)
    assert proof == naive_path(index, entries)
    verify_inclusion(index, len(entries), leaves[index], proof, root)
    assert root_from_inclusion_proof(index, len(entries), leaves[index], proof) == root
    for wrong_index in {index - 1, index + 1, index ^ 1} - {index}:
        if 0 <= wrong_index < len(entries):
            with pytest.raises(LedgerError):
                verify_inclusion(wrong_index, len(entries), leaves[index], proof, root)
    if proof:
        with pytest.raises(LedgerError):
            verify_inclusion(index, len(entries), leaves[index], proof[:-1] + [_flip(proof[-1])], root)


@settings(max_examples=150, deadline=None)
@given(tree_and_index)
def test_consistency_proofs_match_naive_recomputation(case):
    entries, pick = case
    old, new = pick + 1, len(entries)
    leaves = [leaf_hash(e) for e in entries]
    proof = consistency_proof(leaves, old, new)
    assert proof == ([] if old == new else naive_subproof(old, entries, True))
    old_root, new_root = naive_mth(entries[:old]), naive_mth(entries)
    verify_consistency(old, new, old_root, new_root, proof)
    assert consistency_proof(leaves, old, new, cache=SubtreeCache()) == proof
    if old < new:
        altered = entries[:old - 1] + [entries[old - 1] + b"!"] + entries[old:]
        with pytest.raises(LedgerError):  # the old tree had a different entry: history rewritten
            verify_consistency(old, new, naive_mth(altered[:old]), new_root, proof)
        with pytest.raises(LedgerError):
            verify_consistency(old, new, old_root, naive_mth(altered), proof)


def test_every_proof_up_to_70_leaves_verifies_and_a_frontier_resumes_anywhere():
    entries = [i.to_bytes(2, "big") for i in range(70)]
    leaves = [leaf_hash(e) for e in entries]
    roots = [naive_mth(entries[:n]) for n in range(71)]
    cache = SubtreeCache()
    rng = CompactRange()
    for n in range(1, 71):
        rng = CompactRange.from_state(rng.size, rng.hashes)
        rng.append(leaves[n - 1])
        assert rng.root() == roots[n]
        for m in range(n):
            verify_inclusion(m, n, leaves[m], inclusion_proof(leaves, m, n, cache), roots[n])
        for m in range(n + 1):
            verify_consistency(m, n, roots[m], roots[n], consistency_proof(leaves, m, n, cache))


# --------------------------------------------------------------------------------------------
# Records, entries, checkpoints and keys.
# --------------------------------------------------------------------------------------------

def example_key():
    """RFC 8032 §7.1 TEST 1 secret key: a published test key, never an event's real key."""
    return private_key_from_seed(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))


def make_log(key, event: str = "gala", n: int = 7, visitor_prefix: str = "v"):
    """A log of ``n`` entries: vouchers with units, badges and one redemption of the first voucher."""
    records = []
    for seq in range(n):
        at = T0 + dt.timedelta(minutes=seq)
        if seq == 3:
            records.append(redeem_record(event=event, seq=3, award_seq=0, entitlement="sneaker-voucher",
                                         visitor=f"{visitor_prefix}0", at=at))
        elif seq % 2 == 0:
            records.append(award_record(event=event, seq=seq, rule="selfie-teddy", entitlement="sneaker-voucher",
                                        entitlement_kind="voucher", visitor=f"{visitor_prefix}{seq}", at=at,
                                        valid_from=T0, valid_until=T0 + dt.timedelta(days=30), unit=seq // 2))
        else:
            records.append(award_record(event=event, seq=seq, rule="attended", entitlement="gala-badge",
                                        entitlement_kind="badge", visitor=f"{visitor_prefix}{seq}", at=at,
                                        valid_from=at, valid_until=None, unit=None))
    return [encode_entry(r, key) for r in records]


def checkpoint_for(key, entries, size, event="gala", minute=0):
    root = root_of_entries(entries[:size])
    return sign_checkpoint(key, event=event, size=size, root=root, time=T0 + dt.timedelta(hours=1, minutes=minute))


def export_for(key, entries, index, size=None):
    size = len(entries) if size is None else size
    leaves = [leaf_hash(e) for e in entries]
    return export_document(entries[index], index, inclusion_proof(leaves, index, size),
                           checkpoint_for(key, entries, size))


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_utf8():
    assert canonical_json({"b": 1, "a": [None, "zoë", "\n"]}) == '{"a":[null,"zoë","\\n"],"b":1}'.encode()


def test_entry_is_record_and_signature_in_canonical_form():
    key = example_key()
    entry = make_log(key, n=1)[0]
    doc = json.loads(entry)
    assert entry.startswith(b'{"record":{"at":"2026-11-20T18:00:00.000Z","entitlement":"sneaker-voucher",')
    assert entry == canonical_json(doc)
    record_bytes = entry[len(b'{"record":'):entry.index(b',"sig":"')]
    parse_public_key(public_key_hex(key)).verify(base64.b64decode(doc["sig"]), record_bytes)
    assert verify_entry(entry, public_key_hex(key)).record.unit == 0


def test_record_shape_is_strict():
    key = example_key()
    doc = json.loads(make_log(key, n=1)[0])
    for field, value, reason in [("seq", 1.0, "record.seq"), ("v", True, "record.v"), ("unit", "0", "record.unit"),
                                 ("at", "2026-11-20 18:00:00", "record.at"), ("extra", 1, "record.extra"),
                                 ("entitlement_kind", "coupon", "record.entitlement_kind")]:
        bad = {**doc["record"], field: value}
        with pytest.raises(LedgerError, match=reason):
            decode_entry(canonical_json({"record": bad, "sig": doc["sig"]}))
    with pytest.raises(LedgerError, match="canonical"):
        decode_entry(json.dumps(doc).encode())


def test_ledger_error_is_a_showroom_error():
    assert issubclass(LedgerError, ShowroomError)


def test_key_file_is_private_pem_never_overwritten_and_loads_raw_too(tmp_path):
    key = generate_private_key()
    path = tmp_path / "ledger.key"
    save_private_key(key, path)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_key_hex(load_private_key(path)) == public_key_hex(key)
    with pytest.raises(LedgerError, match="already exists"):
        save_private_key(generate_private_key(), path)
    assert public_key_hex(load_or_create_private_key(path)) == public_key_hex(key)
    created = load_or_create_private_key(tmp_path / "new.key")
    assert public_key_hex(load_private_key(tmp_path / "new.key")) == public_key_hex(created)
    raw = tmp_path / "raw.key"
    raw.write_bytes(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
    raw.chmod(0o600)
    assert public_key_hex(load_private_key(raw)) == \
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"  # RFC 8032 TEST 1
    os.chmod(path, 0o644)
    with pytest.raises(LedgerError, match="chmod 600"):
        load_private_key(path)
    with pytest.raises(LedgerError, match="64 hex digits"):
        parse_public_key("abc")


# --------------------------------------------------------------------------------------------
# Export verification: every forgery is rejected with a reason naming what failed.
# --------------------------------------------------------------------------------------------

def test_export_verifies_offline_with_the_public_key():
    key = example_key()
    entries = make_log(key)
    for index in range(len(entries)):
        doc = json.loads(json.dumps(export_for(key, entries, index)))
        verified = verify_export(doc, public_key_hex(key))
        assert verified.leaf_index == index == verified.record.seq
        assert verified.checkpoint.size == len(entries)
    assert verify_export(json.dumps(export_for(key, entries, 2)), public_key_hex(key)).record.visitor == "v2"


def test_forged_entry_signature_is_rejected():
    key = example_key()
    entries = make_log(key)
    doc = export_for(key, entries, 2)
    entry = json.loads(doc["entry"])
    forger = generate_private_key()
    entry["sig"] = base64.b64encode(forger.sign(canonical_json(entry["record"]))).decode()
    doc["entry"] = canonical_json(entry).decode()
    with pytest.raises(LedgerError, match="entry seq 2: the signature does not match"):
        verify_export(doc, public_key_hex(key))


def test_altered_record_byte_is_rejected():
    key = example_key()
    doc = export_for(key, make_log(key), 4)
    doc["entry"] = doc["entry"].replace('"visitor":"v4"', '"visitor":"v5"')
    with pytest.raises(LedgerError, match="entry seq 4: the signature does not match"):
        verify_export(doc, public_key_hex(key))
    doc = export_for(key, make_log(key), 4)
    doc["entry"] = doc["entry"].replace('"unit":2', '"unit":3')
    with pytest.raises(LedgerError, match="signature does not match"):
        verify_export(doc, public_key_hex(key))


def test_wrong_public_key_is_rejected():
    key = example_key()
    doc = export_for(key, make_log(key), 1)
    with pytest.raises(LedgerError, match="checkpoint of size 7: the signature does not match"):
        verify_export(doc, public_key_hex(generate_private_key()))


def test_wrong_inclusion_proof_is_rejected():
    key = example_key()
    doc = export_for(key, make_log(key), 5)
    first = doc["inclusion_proof"][0]
    doc["inclusion_proof"][0] = ("0" if first[0] != "0" else "1") + first[1:]
    with pytest.raises(LedgerError, match="inclusion proof: leaf 5 with this proof does not lead to root"):
        verify_export(doc, public_key_hex(key))
    doc = export_for(key, make_log(key), 5)
    doc["inclusion_proof"].pop()
    with pytest.raises(LedgerError, match="too few"):
        verify_export(doc, public_key_hex(key))
    doc = export_for(key, make_log(key), 5)
    doc["leaf_index"] = 4
    with pytest.raises(LedgerError, match="leaf_index 4 but the record's seq is 5"):
        verify_export(doc, public_key_hex(key))


def test_checkpoint_from_another_tree_is_rejected():
    key = example_key()
    entries = make_log(key)
    other = make_log(key, visitor_prefix="w")  # same event, same key, same size: a different log
    doc = export_for(key, entries, 3)
    doc["checkpoint"] = checkpoint_for(key, other, len(other))
    with pytest.raises(LedgerError, match="does not lead to root .* not in the log that checkpoint signs"):
        verify_export(doc, public_key_hex(key))
    doc["checkpoint"] = checkpoint_for(key, make_log(key, event="ball"), 7, event="ball")
    with pytest.raises(LedgerError, match="entry is from event 'gala' but the checkpoint is for event 'ball'"):
        verify_export(doc, public_key_hex(key))
    doc["checkpoint"] = checkpoint_for(key, entries, 3)
    with pytest.raises(LedgerError, match="leaf 3 is not covered by the checkpoint of size 3"):
        verify_export(doc, public_key_hex(key))


def test_altered_checkpoint_is_rejected():
    key = example_key()
    doc = export_for(key, make_log(key), 0)
    doc["checkpoint"]["size"] = 8
    with pytest.raises(LedgerError, match="checkpoint of size 8: the signature does not match"):
        verify_export(doc, public_key_hex(key))
    doc = export_for(key, make_log(key), 0)
    del doc["checkpoint"]["time"]
    with pytest.raises(LedgerError, match="checkpoint.time: Field required"):
        verify_export(doc, public_key_hex(key))


# --------------------------------------------------------------------------------------------
# Audit of a whole log.
# --------------------------------------------------------------------------------------------

def audited_log(key, n=12):
    entries = make_log(key, n=n)
    checkpoints = [checkpoint_for(key, entries, size, minute=i) for i, size in enumerate((0, 1, 4, 5, 8, n))]
    return entries, checkpoints


def test_audit_of_a_clean_log_finds_nothing():
    key = example_key()
    entries, checkpoints = audited_log(key)
    assert audit(entries, checkpoints, public_key_hex(key)) == []
    assert audit(entries + make_log(key, n=14)[12:], checkpoints, public_key_hex(key)) == []


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_audit_catches_a_changed_byte_in_any_entry(data):
    key = example_key()
    entries, checkpoints = audited_log(key)
    i = data.draw(st.integers(0, len(entries) - 1), label="entry")
    pos = data.draw(st.integers(0, len(entries[i]) - 1), label="byte")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != entries[i][pos]), label="value")
    tampered = list(entries)
    tampered[i] = entries[i][:pos] + bytes([new]) + entries[i][pos + 1:]
    problems = audit(tampered, checkpoints, public_key_hex(key))
    assert any(p.startswith(f"entry {i}:") for p in problems)
    assert any("signed root" in p for p in problems)  # the checkpoints covering it no longer match


def test_audit_catches_a_deleted_entry():
    key = example_key()
    entries, checkpoints = audited_log(key)
    problems = audit(entries[:6] + entries[7:], checkpoints, public_key_hex(key))
    assert "entry 6: holds seq 7; seq must run 0, 1, 2, ... in log order" in "\n".join(problems)
    assert any("signs 12 entries but the log holds only 11" in p for p in problems)
    assert any(p.startswith("checkpoint 4 (size 8") and "signed root" in p for p in problems)


def test_audit_catches_a_reordered_entry():
    key = example_key()
    entries, checkpoints = audited_log(key)
    swapped = list(entries)
    swapped[5], swapped[6] = swapped[6], swapped[5]
    problems = audit(swapped, checkpoints, public_key_hex(key))
    assert any(p.startswith("entry 5: holds seq 6") for p in problems)
    assert any(p.startswith("checkpoint 4 (size 8") and "signed root" in p for p in problems)
    assert not any(p.startswith("checkpoint 3 (size 5") for p in problems)


def test_audit_catches_rewritten_history():
    key = example_key()
    entries = make_log(key, n=8)
    old = checkpoint_for(key, entries, 6)
    # the operator, who holds the key, re-signs entry 2 for another visitor and checkpoints the result
    rewritten = list(entries)
    rewritten[2] = encode_entry(award_record(event="gala", seq=2, rule="selfie-teddy", entitlement="sneaker-voucher",
                                             entitlement_kind="voucher", visitor="mallory", at=T0, valid_from=T0,
                                             valid_until=None, unit=1), key)
    new = checkpoint_for(key, rewritten, 8, minute=5)
    problems = audit(rewritten, [old, new], public_key_hex(key))
    assert any(p.startswith("checkpoints 0 (size 6) and 1 (size 8): not consistent, the history was rewritten")
               for p in problems)
    assert any(p.startswith("checkpoint 0 (size 6") and "signed root" in p for p in problems)
    # and a visitor holding only the old checkpoint catches it with a consistency proof
    proof = [h.hex() for h in consistency_proof([leaf_hash(e) for e in rewritten], 6, 8)]
    with pytest.raises(LedgerError, match="is not a prefix of checkpoint of size 8"):
        verify_checkpoint_consistency(old, new, proof, public_key_hex(key))
    honest = checkpoint_for(key, entries, 8, minute=5)
    verify_checkpoint_consistency(old, honest, [h.hex() for h in consistency_proof(
        [leaf_hash(e) for e in entries], 6, 8)], public_key_hex(key))


def test_audit_catches_duplicate_awards_units_and_redemptions():
    key = example_key()
    entries = make_log(key, n=5)
    again = [award_record(event="gala", seq=5, rule="selfie-teddy", entitlement="sneaker-voucher",
                          entitlement_kind="voucher", visitor="v2", at=T0, valid_from=T0, valid_until=None,
                          unit=7),
             award_record(event="gala", seq=6, rule="selfie-teddy", entitlement="sneaker-voucher",
                          entitlement_kind="voucher", visitor="v9", at=T0, valid_from=T0, valid_until=None, unit=0),
             redeem_record(event="gala", seq=7, award_seq=0, entitlement="sneaker-voucher", visitor="v0",
                           at=T0 + dt.timedelta(hours=1))]
    problems = audit(entries + [encode_entry(r, key) for r in again], [], public_key_hex(key))
    assert problems == [
        "entry 5: awards rule 'selfie-teddy' to 'v2' again (first at seq 2); awards are once per rule and visitor",
        "entry 6: unit 0 of 'sneaker-voucher' was already awarded at seq 0",
        "entry 7: redeems seq 0 a second time (first redeemed at seq 3)",
    ]


def test_audit_catches_forged_checkpoints_and_wrong_key():
    key = example_key()
    entries, checkpoints = audited_log(key)
    forged = dict(checkpoints[2], root=root_of_entries(entries[:5]).hex())
    problems = audit(entries, checkpoints[:2] + [forged] + checkpoints[3:], public_key_hex(key))
    assert problems == [("checkpoint 2: checkpoint of size 4: the signature does not match"
                         " (forged, altered, or signed by another key)")]
    problems = audit(entries, checkpoints, public_key_hex(generate_private_key()))
    assert len(problems) == len(entries) + len(checkpoints)


def test_checkpoint_signature_covers_its_four_fields():
    key = example_key()
    signed = sign_checkpoint(key, event="gala", size=0, root=EMPTY_ROOT, time=T0)
    assert verify_checkpoint(signed, public_key_hex(key)).root_bytes == EMPTY_ROOT
    message = canonical_json({k: v for k, v in signed.items() if k != "sig"})
    parse_public_key(public_key_hex(key)).verify(base64.b64decode(signed["sig"]), message)


def test_node_hash_prefix_separates_leaves_from_nodes():
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) != leaf_hash(a + b)
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()


# --------------------------------------------------------------------------------------------
# The worked example in docs/ledger.md is generated by this code and must stay in step with it.
# Regenerate the blocks with:  python3 tests/test_ledger_core.py
# --------------------------------------------------------------------------------------------

def worked_example() -> dict[str, str]:
    """The blocks of docs/ledger.md's worked example, by name."""
    key = example_key()
    records = [
        award_record(event="anniversary-runway", seq=0, rule="selfie-with-teddy", entitlement="sneaker-drop",
                     entitlement_kind="voucher", visitor="zoë", at=T0 + dt.timedelta(minutes=12, seconds=3.25),
                     valid_from=T0, valid_until=T0 + dt.timedelta(days=30), unit=0),
        award_record(event="anniversary-runway", seq=1, rule="attended-30m", entitlement="front-row-badge",
                     entitlement_kind="badge", visitor="sam", at=T0 + dt.timedelta(minutes=30),
                     valid_from=T0 + dt.timedelta(minutes=30), valid_until=None, unit=None),
        redeem_record(event="anniversary-runway", seq=2, award_seq=0, entitlement="sneaker-drop", visitor="zoë",
                      at=T0 + dt.timedelta(days=2, hours=3)),
    ]
    entries = [encode_entry(r, key) for r in records]
    leaves = [leaf_hash(e) for e in entries]
    cp2 = sign_checkpoint(key, event="anniversary-runway", size=2, root=root_of_leaf_hashes(leaves[:2]),
                          time=T0 + dt.timedelta(hours=1))
    cp3 = sign_checkpoint(key, event="anniversary-runway", size=3, root=root_of_leaf_hashes(leaves),
                          time=T0 + dt.timedelta(days=2, hours=4))
    export = export_document(entries[0], 0, inclusion_proof(leaves, 0), cp3)
    verify_export(export, public_key_hex(key))
    step1 = node_hash(leaves[0], leaves[1])
    step2 = node_hash(step1, leaves[2])
    assert step2.hex() == cp3["root"]
    consistency = consistency_proof(leaves, 2, 3)
    return {
        "public-key": public_key_hex(key),
        "entries": "\n".join(e.decode() for e in entries),
        "record-0": entries[0][len(b'{"record":'):entries[0].index(b',"sig":"')].decode(),
        "leaf-hashes": "\n".join(f"leaf {i}: {h.hex()}" for i, h in enumerate(leaves)),
        "checkpoint-2": json.dumps(cp2, ensure_ascii=False),
        "checkpoint-3": json.dumps(cp3, ensure_ascii=False),
        "checkpoint-3-signed-bytes": canonical_json({k: v for k, v in cp3.items() if k != "sig"}).decode(),
        "export": json.dumps(export, indent=2, ensure_ascii=False),
        "inclusion-steps": "\n".join([
            f"r = leaf hash of entry 0          = {leaves[0].hex()}",
            f"fn=0 sn=2  p0: fn even, fn != sn -> r = SHA-256(01 || r || p0) = {step1.hex()}",
            "            shift                 -> fn=0 sn=1",
            f"fn=0 sn=1  p1: fn even, fn != sn -> r = SHA-256(01 || r || p1) = {step2.hex()}",
            "            shift                 -> fn=0 sn=0",
            "sn == 0 and r == checkpoint root  -> included",
        ]),
        "consistency-2-3": "\n".join(h.hex() for h in consistency),
    }


def doc_blocks(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"<!-- example: (\S+) -->\n```[a-z]*\n(.*?)\n```", text, re.DOTALL)}


def test_docs_worked_example_matches_the_code():
    blocks = doc_blocks(DOC.read_text(encoding="utf-8"))
    example = worked_example()
    assert sorted(blocks) == sorted(example)
    for name, text in example.items():
        assert blocks[name] == text, f"docs/ledger.md block {name!r} is out of date; run python3 {__file__}"


if __name__ == "__main__":
    for block_name, block in worked_example().items():
        sys.stdout.write(f"<!-- example: {block_name} -->\n```\n{block}\n```\n\n")
