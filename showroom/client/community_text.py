"""The words of the community panel and of my name tag's badge, from a
:class:`showroom.client.community.CommunityBook`. Plain data, no panda3d.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from showroom.client.community import CommunityBook
from showroom.client.featured import short
from showroom.client.hud_text import plural

PHASE_WORDS = {
    "draft": "opens for entries",
    "submissions": "taking entries",
    "review": "entries under review",
    "voting": "voting open",
    "closed": "closed",
}
BRIEF_CHARS = 150
"""The challenge's brief in the panel is cut to this (about four lines)."""
NEXT_WORDS = {"draft": "opens", "submissions": "entries close", "review": "voting opens", "voting": "voting closes"}
TIER_COLORS = {
    "bronze": (0.72, 0.45, 0.2, 0.95), "silver": (0.62, 0.64, 0.7, 0.95), "gold": (0.85, 0.66, 0.12, 0.95),
    "platinum": (0.55, 0.75, 0.8, 0.95), "black": (0.05, 0.05, 0.06, 0.95),
}
MEMBER_COLOR = (0.35, 0.2, 0.5, 0.9)


def when(text: str | None) -> str:
    """An RFC 3339 time as a short local label: ``Sun 6 Dec 20:00`` (in the offset it carries)."""
    if not text:
        return ""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return text
    return f"{at:%a} {at.day} {at:%b %H:%M}"


def tier_label(book: CommunityBook) -> str:
    """My tier's name as a badge shows it (``Gold``), ``Member`` below the first tier, "" for a non-member."""
    if not book.member or book.state is None:
        return ""
    if book.state.tier is None:
        return "Member"
    return book.tier_name or book.state.tier.replace("-", " ").replace("_", " ").title()


def tier_color(book: CommunityBook) -> tuple[float, float, float, float]:
    """The badge's colour for my tier."""
    tier = book.state.tier if book.state is not None else None
    return TIER_COLORS.get((tier or "").lower(), MEMBER_COLOR)


@dataclass(frozen=True)
class PanelText:
    """Every line of the community panel."""

    title: str
    membership: str
    loyalty: str
    residency: str
    can_join: bool
    challenge: str
    phase: str
    brief: str
    entry: str
    can_submit: bool
    gallery_hint: str
    can_vote: bool
    results: list[str]


def panel_text(book: CommunityBook, submit_what: str) -> PanelText:
    """The panel's lines; ``submit_what`` names what the submit button sends (``your last selfie``)."""
    st = book.state
    if book.community is None:
        return PanelText("No community", "This event belongs to no community.", "", "", False, "", "", "", "",
                         False, "", False, [])
    if book.unserved:
        return PanelText(book.community, "This server does not run the event's community.", "", "", False, "", "",
                         "", "", False, "", False, [])
    if st is None:
        return PanelText(book.community, "asking the server...", "", "", False, "", "", "", "", False, "", False,
                         [])
    status = {"member": f"Member ({st.role or 'member'})", "pending": "Your request waits for a host",
              "left": "You left", "banned": "Banned", "none": "Not a member"}.get(st.status, st.status)
    entry_way = {"invite": "invite only", "request": "by request", "open": "open to all"}.get(st.entry, st.entry)
    membership = f"{status}  |  {st.members} of {st.cap} members  |  {entry_way}"
    loyalty = ""
    if book.member:
        loyalty = f"{tier_label(book)}  |  {plural(round(st.points), 'point')}  |  streak {plural(st.streak, 'week')}"
    residency = f"Next residency: {st.residency.title}, {when(st.residency.start)}" if st.residency else ""
    can_join = st.status in ("none", "left")
    ch = book.challenge
    challenge = phase = brief = entry = hint = ""
    can_submit = can_vote = False
    results: list[str] = []
    if ch is not None:
        challenge = f"Challenge: {ch.title}"
        nxt = f"  |  {NEXT_WORDS[ch.phase]} {when(ch.next_at)}" if ch.next_at and ch.phase in NEXT_WORDS else ""
        phase = f"{PHASE_WORDS.get(ch.phase, ch.phase)} ({ch.ballot} ballot){nxt}"
        if ch.phase in ("draft", "submissions", "review"):  # while it matters; the gallery needs the room later
            brief = short(" ".join(ch.brief.split()), BRIEF_CHARS)
        mine = book.my_entry()
        if book.upload is not None:
            entry = f"Uploading '{book.upload.title}': {book.upload.progress:.0%}"
        elif mine is not None:
            why = f": {mine.reason}" if mine.reason else ""
            entry = f"Your entry '{mine.title}': {mine.status}{why}"
        elif ch.phase == "submissions":
            entry = f"Enter {submit_what}" if book.member else "Members may enter: join first"
        can_submit = ch.phase == "submissions" and book.member and book.upload is None
        if ch.phase == "voting":
            can_vote = book.member and not book.voted and not book.vote_sent and bool(book.votable())
            if book.voted:
                hint = "Your ballot is counted. Results after the vote closes."
            elif not book.member:
                hint = "Members vote: join first"
            elif ch.ballot == "ranked":
                hint = "Click entries in your order of preference (1 = best), then Vote"
            else:
                hint = "Click every entry you approve, then Vote"
        if ch.phase == "closed" and book.gallery is not None and book.gallery.challenge == ch.id:
            ranked = sorted((e for e in book.gallery.entries if e.rank is not None), key=lambda e: e.rank or 0)
            results = [f"#{e.rank}  {e.title}  by {e.by}" for e in ranked[:5]]
            if not ranked:
                hint = "Closed: results once the host features them"
    return PanelText(st.name, membership, loyalty, residency, can_join, challenge, phase, brief, entry, can_submit,
                     hint, can_vote, results)


def ballot_mark(book: CommunityBook, entry: int) -> str:
    """How a gallery thumbnail shows my pick: ``1``, ``2``... (ranked), a tick word (approval), or ""."""
    if entry not in book.choices:
        return ""
    ch = book.challenge
    if ch is not None and ch.ballot == "ranked":
        return str(book.choices.index(entry) + 1)
    return "yes"
