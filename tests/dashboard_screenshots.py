"""Screenshots of the host dashboard for the docs, from a real server with a little life in it.

Run from the repository root (Debian's chromium and the playwright package needed):

    python3 tests/dashboard_screenshots.py [OUT_DIR]

It starts the anniversary show with the example communities in a temporary data directory, brings
in visitors and members, a live poll with answers, entries to moderate and a join request, then
signs the dashboard in and writes every panel at 1280x720 (``dashboard-<panel>.png``) and the main
ones at phone width, 390x844 (``dashboard-phone-<panel>.png``), into OUT_DIR (default
docs/images).
"""

from __future__ import annotations

import math
import struct
import sys
import tempfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from dashboard_harness import TOKEN, Served, launch  # noqa: E402

PANELS = ("show", "polls", "challenges", "members", "audiences")
PHONE_PANELS = ("show", "polls", "challenges")


def sketch(width: int, height: int, petal: tuple[int, int, int], seed: int) -> bytes:
    """A PNG of a flower-like rosette on paper: something an entry might look like."""
    cx, cy, rows = width / 2, height / 2, []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            dx, dy = x - cx, y - cy
            r = math.hypot(dx, dy) / (min(width, height) / 2)
            edge = 0.55 + 0.25 * math.cos(5 * math.atan2(dy, dx) + seed)
            if r < edge * 0.35:
                colour = (250, 214, 90)
            elif r < edge:
                shade = 0.75 + 0.25 * math.cos(r * 9)
                colour = tuple(int(c * shade) for c in petal)
            else:
                colour = (246, 240, 228) if (x // 12 + y // 12) % 2 else (240, 233, 220)
            row += bytes(colour)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))


def stage(served: Served) -> None:
    """Visitors, members, a live poll with answers, entries to moderate and a join request."""
    names = ["ada", "bo", "cleo", "dev", "eun", "fern"]
    members = [served.member(name) for name in names]
    crowd = [served.visitor(f"guest{k}") for k in range(6)]
    served.phase("submissions")
    colours = [(196, 38, 74), (214, 92, 140), (150, 30, 60), (232, 120, 96), (120, 40, 110)]
    titles = ["Rose in motion", "Petals at dusk", "Crimson drape", "Coral bloom", "Night rose"]
    entries = [served.upload(members[k], titles[k], sketch(200, 150, colours[k], k)) for k in range(5)]
    served.phase("review")
    served.host({"type": "host_moderate", "entry": entries[0]["entry"], "approve": True})
    served.host({"type": "host_moderate", "entry": entries[4]["entry"], "approve": False, "reason": "no rose in it"})
    poll = served.host({"type": "host_poll", "question": "Which look should close the show?",
                        "options": ["Rose gown", "Midnight coat", "Golden cape"]}, "poll")
    assert poll["type"] == "poll", poll
    for k, who in enumerate(members + crowd):
        served.answer_poll(who, [0, 0, 1, 0, 2, 0, 1, 0, 0, 1, 2, 0][k])

    async def request() -> None:
        from wsclient import Client
        client = await Client.connect(served.url)
        await client.join("hatchling")
        await client.send({"type": "community_request", "community": "weekend-residency-club"})
        await client.next_message(lambda m: m["type"] in ("community", "error"))
        served.clients.append(client)
    served.run(request())
    served.host({"type": "host_seek", "t": 47.0})


def shoot(served: Served, out: Path) -> list[Path]:
    """Sign the dashboard in and write each panel's picture."""
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for width, height, prefix, panels in ((1280, 720, "dashboard", PANELS),
                                              (390, 844, "dashboard-phone", PHONE_PANELS)):
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{served.page}#token={TOKEN}")
            page.wait_for_selector("[data-status-clock]")
            for panel in panels:
                page.locator(f"[data-tab={panel}]").click()
                if panel == "challenges":
                    page.wait_for_selector("ul.queue img")
                if panel == "members":
                    page.wait_for_selector("tr[data-wallet]")
                if panel == "audiences":
                    page.wait_for_selector("tr[data-segment]")
                page.wait_for_timeout(1200)
                target = out / f"{prefix}-{panel}.png"
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
            if prefix == "dashboard":
                login = browser.new_page(viewport={"width": width, "height": height})
                login.goto(served.page)
                login.get_by_label("Host token").fill("guess")
                login.get_by_role("button", name="Sign in").click()
                login.wait_for_selector("[data-error]")
                target = out / "dashboard-login.png"
                login.screenshot(path=str(target))
                written.append(target)
                login.close()
            page.close()
        browser.close()
    return written


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data:
        served = Served(Path(data))
        try:
            stage(served)
            for path in shoot(served, out):
                print(path)
        finally:
            served.stop()


if __name__ == "__main__":
    main()
