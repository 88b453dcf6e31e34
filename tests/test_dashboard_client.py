"""The dashboard and the visitor client together, against one real server on 127.0.0.1: a host
approves a visitor's entry on the page (headless Chromium), closes the round and publishes it, and
the offscreen Panda3D client, stepped a few frames on, shows the entry's colour where the featured
wall's first picture hangs.
"""

from __future__ import annotations

import numpy as np
from dashboard_harness import CHROMIUM, launch
from playwright import sync_api as playwright_api
from test_client_community import CHALLENGE, CIRCLE, TOKEN, Venue, client, close_to, solid_png, until, wall_colors
from wsclient import Client

expect = playwright_api.expect
ORANGE = (245, 130, 20)
EXPECT_MS = 10_000


def test_an_entry_approved_and_featured_on_the_dashboard_hangs_on_the_clients_wall(tmp_path):
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)"
    venue = Venue(tmp_path / "data")
    app = None
    try:
        venue.ask(venue.host, {"type": "host_phase", "community": CIRCLE, "challenge": CHALLENGE,
                               "phase": "submissions"}, "host_ok")
        code = venue.ask(venue.host, {"type": "host_invite", "community": CIRCLE, "max_uses": 2}, "invite")["code"]

        async def artist_enters() -> int:
            artist = await Client.connect(venue.running.url)
            await artist.join("Iris")
            await artist.send({"type": "community_join", "community": CIRCLE, "invite": code})
            await artist.next_message(lambda m: m["type"] == "community")
            kept = await artist.enter(CIRCLE, CHALLENGE, "Orange hour", solid_png(ORANGE, (200, 160)))
            assert kept["type"] == "entry", kept
            return int(kept["entry"])
        entry = venue.call(artist_enters())

        app = client(venue, tmp_path, "Watcher")
        until(app, lambda: app.state.community.state is not None, what="the community state")
        book = app.state.community
        assert book.featured is None or not book.featured.entries

        port = venue.running.port
        expect.set_options(timeout=EXPECT_MS)
        with playwright_api.sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"http://127.0.0.1:{port}/host#token={TOKEN}")
            expect(page.locator("header.top .conn-text")).to_have_text("connected")
            page.locator("[data-tab=challenges]").click()
            page.get_by_role("button", name=f"Open Sketch the rose dress ({CHALLENGE})").click()
            queued = page.locator(f"ul.queue li[data-entry='{entry}']")
            queued.get_by_role("button", name="Approve Orange hour").click()
            expect(queued).to_have_count(0)
            page.get_by_label("Phase").select_option("closed")
            page.get_by_role("button", name="Move to phase").click()
            expect(page.locator(f"tr[data-challenge={CHALLENGE}] [data-phase]")).to_have_text("closed")
            page.get_by_role("button", name="Publish featured").click()
            expect(page.locator(f"ul.decided li[data-entry='{entry}']")).to_contain_text("#1 featured")
            browser.close()

        until(app, lambda: book.featured is not None and [e.entry for e in book.featured.entries] == [entry]
              and entry in book.images, what="the featured entry and its image")
        colours = wall_colors(app, tmp_path / "wall.png")
        assert close_to(colours["first"], ORANGE), colours
        assert not close_to(np.asarray(colours["first"]), (0, 0, 0))
    finally:
        if app is not None:
            app.leave_event()
        venue.stop()
