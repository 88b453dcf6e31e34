"""A ledger client that awards and redeems until it is killed; the crash-safety test SIGKILLs it.

Usage: ``python tests/ledger_worker.py DATA_DIR SCENE_FILE PAUSE_S``; with ``LEDGER_DATABASE`` set
to a ``postgresql://`` URL in its environment the ledger is kept there.

It is a zygote: it imports everything and parses the scene once, prints ``ready``, then reads
commands on stdin, one a line, and answers each on stdout:

* ``fork FIFO PREFIX [RULE VISITOR]``: fork a writer whose output goes to the named pipe FIFO;
  answer ``pid PID``. The writer opens its own ledger (connection) and loops over distinct
  visitors ``PREFIX-0``, ``PREFIX-1``, … printing one line per acknowledgement, flushed, only
  after the ledger call returned:

  * ``award SEQ RULE VISITOR`` (also for ``again``: the award RULE VISITOR given, re-awarded
    first to show that a repeat after a restart returns the same seq); every ``BATCH_EVERY``-th
    visitor brings a batch of ``BATCH_SIZE`` awards written in one transaction through
    ``Ledger.award_many`` (new visitors ``PREFIX-I-J`` and a repeat of the last single award),
    each acknowledged only after the whole batch returned, as the server's writer does;
  * ``redeem AWARD_SEQ VISITOR REDEEMED_AT``;
  * ``checkpoint SIZE ROOT``.
* ``wait PID``: reap that writer; answer ``died SIGNAL`` (or ``exited CODE``).

A writer is a fork of a process that paid its imports already, so a kill round costs the
ledger's own work, not a Python start: the test can afford its hundred kills on every store.
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
    data_dir, scene_file, pause_s = Path(argv[0]), argv[1], float(argv[2])
    scene = parse_scene(Path(scene_file).read_text(encoding="utf-8"), scene_file)
    database = os.environ.get("LEDGER_DATABASE") or None
    if database:
        import psycopg  # noqa: F401 - imported once here, as the ledger's own imports are
    print("ready", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "fork":
            pid = os.fork()
            if pid == 0:
                try:
                    fifo = os.open(args[0], os.O_WRONLY)
                    os.dup2(fifo, 1)
                    os.close(fifo)
                    write(Ledger(data_dir, scene, database=database), args[1], pause_s,
                          (args[2], args[3]) if len(args) == 4 else None)
                except BaseException:  # noqa: BLE001 - a writer never returns: it is killed
                    import traceback

                    traceback.print_exc()
                finally:
                    os._exit(1)
            print(f"pid {pid}", flush=True)
        elif command == "wait":
            _, status = os.waitpid(int(args[0]), 0)
            print(f"died {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exited {os.WEXITSTATUS(status)}",
                  flush=True)


def write(ledger: Ledger, prefix: str, pause_s: float, again: tuple[str, str] | None) -> None:
    """Award, redeem and checkpoint until killed, acknowledging each on stdout once it returned."""
    if again is not None:
        repeat = ledger.award(*again)
        print(f"again {repeat.seq} {repeat.rule} {repeat.visitor}", flush=True)
    ops = CHECKPOINT_EVERY - 3  # the first checkpoint comes three writes in: every round that gets going checkpoints
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
