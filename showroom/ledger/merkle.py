"""RFC 9162 §2.1 Merkle tree hashing: tree hashes, a compact range, inclusion and consistency proofs.

Hashes are 32-byte SHA-256 digests (``bytes``). A leaf is hashed as SHA-256(0x00 || entry), an
interior node as SHA-256(0x01 || left || right), and a tree of ``n`` leaves splits at the largest
power of two below ``n`` (RFC 9162 §2.1.1, the same hashing as RFC 6962). Proof generation works
from the list of leaf hashes (any ``Sequence``, so a store can hand in a lazy view); verification
needs only the proof, the sizes and the roots.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from showroom.ledger.errors import LedgerError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The Merkle Tree Hash of the empty tree: SHA-256 of no bytes."""

_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """Hash one log entry as a leaf: SHA-256(0x00 || entry)."""
    return hashlib.sha256(_LEAF + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two subtree roots into their parent: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n`` > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


class CompactRange:
    """The frontier of a growing tree: the roots of its perfect subtrees, largest first.

    A tree of ``size`` leaves has one perfect subtree per set bit of ``size``, so the state is
    ``popcount(size)`` hashes. Appending merges equal-sized subtrees (O(log n) amortised O(1));
    the root folds the frontier from the right (O(log n)). ``size`` and ``hashes`` are all a
    store needs to persist to resume with :meth:`from_state`.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def from_state(cls, size: int, hashes: Sequence[bytes]) -> CompactRange:
        """Rebuild a range from a persisted ``size`` and its frontier ``hashes`` (largest subtree first)."""
        if size < 0:
            raise LedgerError(f"compact range: size {size} is negative")
        if len(hashes) != size.bit_count():
            raise LedgerError(f"compact range: a tree of {size} leaves has {size.bit_count()} frontier hashes,"
                              f" got {len(hashes)}")
        for i, h in enumerate(hashes):
            _check_hash(h, f"compact range hash {i}")
        rng = cls()
        rng._size = size
        rng._hashes = [bytes(h) for h in hashes]
        return rng

    @property
    def size(self) -> int:
        """How many leaves the tree holds."""
        return self._size

    @property
    def hashes(self) -> list[bytes]:
        """The frontier, largest subtree first (a copy, to persist)."""
        return list(self._hashes)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash (not the entry: hash it with :func:`leaf_hash` first)."""
        _check_hash(leaf, "leaf hash")
        node, size = leaf, self._size
        while size & 1:
            node = node_hash(self._hashes.pop(), node)
            size >>= 1
        self._hashes.append(node)
        self._size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Add leaf hashes in order."""
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        """The Merkle Tree Hash of the leaves appended so far."""
        if not self._hashes:
            return EMPTY_ROOT
        root = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            root = node_hash(h, root)
        return root


def root_of_leaf_hashes(leaves: Iterable[bytes]) -> bytes:
    """The Merkle Tree Hash of a list of leaf hashes."""
    rng = CompactRange()
    rng.extend(leaves)
    return rng.root()


def root_of_entries(entries: Iterable[bytes]) -> bytes:
    """The Merkle Tree Hash (RFC 9162 MTH) of a list of entries."""
    return root_of_leaf_hashes(leaf_hash(e) for e in entries)


class SubtreeCache:
    """Roots of complete subtrees of 16 leaves or more, kept across proofs of one append-only log.

    A complete (perfect) subtree never changes once all its leaves exist, so its root can be
    reused by every later proof: with a cache, a proof costs O(log² n) hashes once warm instead
    of O(n). About one entry per 8 leaves; give one cache per log, never share between logs.
    """

    MIN_WIDTH = 16

    def __init__(self) -> None:
        self._roots: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        return len(self._roots)

    def get(self, start: int, width: int) -> bytes | None:
        """The cached root of the complete subtree of ``width`` leaves from ``start``, if any."""
        return self._roots.get((start, width))

    def put(self, start: int, width: int, root: bytes) -> None:
        """Remember the root of a complete subtree (only wide ones are kept)."""
        if width >= self.MIN_WIDTH:
            self._roots[(start, width)] = root


def _perfect_root(leaves: Sequence[bytes], start: int, width: int, cache: SubtreeCache | None) -> bytes:
    if width == 1:
        return leaves[start]
    if cache is not None:
        hit = cache.get(start, width)
        if hit is not None:
            return hit
    half = width // 2
    root = node_hash(_perfect_root(leaves, start, half, cache), _perfect_root(leaves, start + half, half, cache))
    if cache is not None:
        cache.put(start, width, root)
    return root


def _subtree_root(leaves: Sequence[bytes], start: int, end: int, cache: SubtreeCache | None) -> bytes:
    """MTH of leaves[start:end], where ``start`` is aligned as every subtree of RFC 9162's split is."""
    parts: list[bytes] = []
    cur = start
    while cur < end:
        width = 1 << ((end - cur).bit_length() - 1)
        parts.append(_perfect_root(leaves, cur, width, cache))
        cur += width
    root = parts[-1]
    for h in reversed(parts[:-1]):
        root = node_hash(h, root)
    return root


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int | None = None,
                    cache: SubtreeCache | None = None) -> list[bytes]:
    """The audit path (RFC 9162 §2.1.3.1) of leaf ``index`` in the tree of the first ``size`` leaves.

    ``size`` defaults to ``len(leaves)``. The path is ordered from the leaf's sibling up to the
    root's other child, as verifiers expect. Costs O(n) hashes, or O(log² n) with a warm ``cache``.
    """
    size = len(leaves) if size is None else size
    if not 0 <= index < size <= len(leaves):
        raise LedgerError(f"inclusion proof: leaf {index} is not in a tree of {size} leaves"
                          f" (the log holds {len(leaves)})")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            path.append(_subtree_root(leaves, start + k, end, cache))
            end = start + k
        else:
            path.append(_subtree_root(leaves, start, start + k, cache))
            start += k
    path.reverse()
    return path


def consistency_proof(leaves: Sequence[bytes], old_size: int, new_size: int | None = None,
                      cache: SubtreeCache | None = None) -> list[bytes]:
    """The consistency proof (RFC 9162 §2.1.4.1) that the first ``old_size`` leaves prefix the first ``new_size``.

    Empty when ``old_size`` is 0 or equals ``new_size``: there is nothing to prove.
    """
    new_size = len(leaves) if new_size is None else new_size
    if not 0 <= old_size <= new_size <= len(leaves):
        raise LedgerError(f"consistency proof: sizes {old_size} -> {new_size} are impossible"
                          f" for a log of {len(leaves)} leaves")
    if old_size in (0, new_size):
        return []
    path: list[bytes] = []
    start, end, m, whole = 0, new_size, old_size, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                path.append(_subtree_root(leaves, start, end, cache))
            break
        k = _split(n)
        if m <= k:
            path.append(_subtree_root(leaves, start + k, end, cache))
            end = start + k
        else:
            path.append(_subtree_root(leaves, start, start + k, cache))
            start += k
            m -= k
            whole = False
    path.reverse()
    return path


def _check_hash(value: object, what: str) -> None:
    if not isinstance(value, (bytes, bytearray)) or len(value) != HASH_SIZE:
        size = len(value) if isinstance(value, (bytes, bytearray)) else type(value).__name__
        raise LedgerError(f"{what}: expected a {HASH_SIZE}-byte SHA-256 hash, got {size}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that an inclusion proof of leaf ``index`` in a tree of ``size`` leads to (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise LedgerError(f"inclusion proof: leaf index {index} is outside a tree of {size} leaves")
    _check_hash(leaf, "leaf hash")
    fn, sn, r = index, size - 1, leaf
    for i, p in enumerate(proof):
        _check_hash(p, f"inclusion proof[{i}]")
        if sn == 0:
            raise LedgerError(f"inclusion proof: {len(proof)} hashes is too many for leaf {index}"
                              f" of a tree of {size} leaves")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise LedgerError(f"inclusion proof: {len(proof)} hashes is too few for leaf {index}"
                          f" of a tree of {size} leaves")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` is leaf ``index`` of the tree of ``size`` leaves with ``root``; raise LedgerError if not."""
    _check_hash(root, "root")
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise LedgerError(f"inclusion proof: leaf {index} with this proof does not lead to root {root.hex()}"
                          f" of the tree of {size} leaves")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Check that the tree (``old_size``, ``old_root``) is a prefix of (``new_size``, ``new_root``) (RFC 9162 §2.1.4.2).

    Raises LedgerError naming what does not hold.
    """
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    for i, p in enumerate(proof):
        _check_hash(p, f"consistency proof[{i}]")
    if not 0 <= old_size <= new_size:
        raise LedgerError(f"consistency proof: the log cannot shrink from {old_size} to {new_size} leaves")
    if old_size == 0 or old_size == new_size:
        if proof:
            raise LedgerError(f"consistency proof: expected no hashes from size {old_size} to {new_size},"
                              f" got {len(proof)}")
        if old_size == 0 and old_root != EMPTY_ROOT:
            raise LedgerError(f"consistency proof: the root of an empty tree is {EMPTY_ROOT.hex()},"
                              f" not {old_root.hex()}")
        if old_size == new_size and old_root != new_root:
            raise LedgerError(f"consistency proof: two different roots for the same size {old_size}:"
                              f" {old_root.hex()} and {new_root.hex()}")
        return
    if not proof:
        raise LedgerError(f"consistency proof: no hashes given to prove size {old_size} -> {new_size}")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise LedgerError(f"consistency proof: {len(proof)} hashes is too many for size {old_size} -> {new_size}")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise LedgerError(f"consistency proof: {len(proof)} hashes is too few for size {old_size} -> {new_size}")
    if fr != old_root:
        raise LedgerError(f"consistency proof: does not lead to the old root {old_root.hex()} at size {old_size}"
                          f" (the history before it was rewritten, or the proof is wrong)")
    if sr != new_root:
        raise LedgerError(f"consistency proof: does not lead to the new root {new_root.hex()} at size {new_size}")
