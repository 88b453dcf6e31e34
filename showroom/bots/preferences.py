"""What a bot prefers: its answer to a poll, its ballot, its entry's title. Seeded so that a run repeats, with
tastes shared by the whole crowd so that charts and results have favourites as a real crowd's would."""

from __future__ import annotations

import math
import random

from showroom.protocol import community as cm
from showroom.protocol.limits import MAX_BALLOT_CHOICES

TITLE_WORDS = (("Rose", "Blush", "Midnight", "Golden", "Petal", "Silk", "Dusk", "Garden", "Velvet", "Ivory"),
               ("drape", "cascade", "bloom", "hour", "gown", "study", "promenade", "whisper", "ribbon", "waltz"))


def entry_title(rng: random.Random) -> str:
    """A title for a bot's entry, as a person might give it."""
    return f"{rng.choice(TITLE_WORDS[0])} {rng.choice(TITLE_WORDS[1])}"


def poll_option(poll: str, options: int, rng: random.Random) -> int:
    """A bot's answer: random, with a preference skew shared by every bot (seeded by the poll's id) so that
    the chart has a favourite, as a crowd's would."""
    taste = random.Random(f"poll/{poll}")
    weights = [math.exp(taste.gauss(0.0, 0.7)) for _ in range(options)]
    return rng.choices(range(options), weights)[0]


def ballot(gallery: cm.Gallery, rng: random.Random) -> list[int]:
    """A ballot for the gallery's approved entries that are not mine: a few approved (approval) or a ranking of
    up to eight (ranked), drawn with an appeal per entry shared by every bot so results have winners."""
    eligible = [e.entry for e in gallery.entries if e.status == "approved" and not e.mine]
    if not eligible:
        return []

    def key(entry: int) -> float:  # a weighted draw without replacement (Efraimidis and Spirakis)
        appeal = 0.3 + random.Random(f"entry/{gallery.challenge}/{entry}").random() ** 2 * 3.0
        return rng.random() ** (1.0 / appeal)

    order = sorted(eligible, key=key, reverse=True)
    most = min(len(order), MAX_BALLOT_CHOICES)
    size = min(most, rng.randint(1, 3)) if gallery.ballot == "approval" else min(most, rng.randint(2, 6))
    return order[:size]
