"""A ledger client that awards and redeems until it is killed; the crash-safety test SIGKILLs it.

Usage: ``python tests/ledger_worker.py DATA_DIR SCENE_FILE PREFIX PAUSE_S [RULE VISITOR]``; with
``LEDGER_DATABASE`` set to a ``postgresql://`` URL in its environment the ledger is kept there.

It imports, parses the scene and prints ``ready``, then waits for one line on stdin before it
opens the ledger, so that the test can audit the data directory while the next worker imports.
Then it loops over distinct visitors ``PREFIX-0``, ``PREFIX-1``, … and prints one line per
acknowledgement, flushed, only after the ledger call returned:

* ``award SEQ RULE VISITOR`` (also for ``again``: the award RULE VISITOR given on the command
  line, re-awarded first to show that a repeat after a restart returns the same seq); every
  ``BATCH_EVERY``-th visitor brings a batch of ``BATCH_SIZE`` awards written in one transaction
  through ``Ledger.award_many`` (new visitors ``PREFIX-I-J`` and a repeat of the last single
  award), each acknowledged only after the whole batch returned, as the server's writer does;
* ``redeem AWARD_SEQ VISITOR REDEEMED_AT``;
* ``checkpoint SIZE ROOT``.

Imports are kept to what the ledger needs: a worker start is most of a crash round's time.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from server.storage.ledger import Ledger
from showroom.scene import parse_scene

RULES = ("selfie-with-teddy", "selfie-with-ember", "attend-five-minutes")
REDEEM_EVERY = 2  # every 2nd scarf award is redeemed at once
CHECKPOINT_EVERY = 8  # operations between signed checkpoints
BATCH_EVERY = 3  # every 3rd visitor brings a batch
BATCH_SIZE = 6


def main(argv: list[str]) -> None:
    data_dir, scene_file, prefix, pause_s = Path(argv[0]), argv[1], argv[2], float(argv[3])
    scene = parse_scene(Path(scene_file).read_text(encoding="utf-8"), scene_file)
    if os.environ.get("LEDGER_DATABASE"):
        import psycopg  # noqa: F401 - imported before "ready", as the ledger's own imports are
    print("ready", flush=True)
    sys.stdin.readline()
    ledger = Ledger(data_dir, scene, database=os.environ.get("LEDGER_DATABASE") or None)
    if len(argv) == 6:
        again = ledger.award(argv[4], argv[5])
        print(f"again {again.seq} {again.rule} {again.visitor}", flush=True)
    ops = 0
    last: tuple[str, str] | None = None
    for i in range(10**9):
        rule, visitor = RULES[i % len(RULES)], f"{prefix}-{i}"
        if i % BATCH_EVERY == BATCH_EVERY - 1:
            ops += award_batch(ledger, [(RULES[j % len(RULES)], f"{visitor}-{j}") for j in range(BATCH_SIZE - 1)]
                               + ([last] if last is not None else []))
        award = ledger.award(rule, visitor)
        print(f"award {award.seq} {rule} {visitor}", flush=True)
        last = (rule, visitor)
        ops += 1
        if rule == "selfie-with-teddy" and (i // len(RULES)) % REDEEM_EVERY == 0:
            spent = ledger.redeem(award.seq, visitor)
            print(f"redeem {award.seq} {visitor} {spent.redeemed_at}", flush=True)
            ops += 1
        if ops >= CHECKPOINT_EVERY:
            cp = ledger.checkpoint()
            print(f"checkpoint {cp['size']} {cp['root']}", flush=True)
            ops = 0
        if pause_s:
            time.sleep(pause_s)


def award_batch(ledger: Ledger, requests: list[tuple[str, str]]) -> int:
    """Award ``requests`` in one transaction; acknowledge each only once all of them are committed."""
    outcomes = ledger.award_many(requests)
    for (rule, visitor), award in zip(requests, outcomes):
        assert not isinstance(award, Exception), award  # the worker's stock and caps refuse nothing
        print(f"award {award.seq} {rule} {visitor}")
    sys.stdout.flush()
    return len(requests)


if __name__ == "__main__":
    main(sys.argv[1:])
