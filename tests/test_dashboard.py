"""The host dashboard in a real browser: Debian's headless Chromium, driven by Playwright, against a real
server on 127.0.0.1 (the anniversary show as an event of the Maison Lumen Circle).

Every wait is bounded (Playwright's expect gives up after :data:`EXPECT_MS`); the visitors are plain
WebSocket clients (:mod:`wsclient`) that join, answer polls and upload entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_harness import CHALLENGE, CHROMIUM, TOKEN, Served, launch, png
from playwright import sync_api as playwright_api

expect = playwright_api.expect

EXPECT_MS = 10_000
"""Longest wait for anything on the page (the status is read once a second, the lists every few)."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    expect.set_options(timeout=EXPECT_MS)
    with playwright_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    served = Served(tmp_path / "data")
    yield served
    served.stop()


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(EXPECT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    context.close()
    assert not problems, problems


def signed_in(page: Any, served: Served, tab: str | None = None) -> Any:
    """Open the dashboard with the token in the URL fragment; wait for the live status; open ``tab``."""
    page.goto(f"{served.page}#token={TOKEN}")
    expect(page.locator("header.top .conn-text")).to_have_text("connected")
    expect(page.locator("[data-status-clock]")).to_be_visible()
    if tab is not None:
        page.locator(f"[data-tab={tab}]").click()
    return page


# ---- signing in --------------------------------------------------------------------------------------
def test_a_wrong_token_shows_the_servers_reason_and_the_right_one_signs_in(page, served):
    page.goto(served.page)
    page.get_by_label("Host token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("[data-error]")).to_have_text("wrong host token")  # the server's message, as sent
    page.get_by_label("Host token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("[data-status-clock]")).to_have_text(re.compile(r"^\d+:\d\d$"))
    assert "token" not in page.url  # never in the address bar
    assert page.evaluate("sessionStorage.getItem('showroom-host-token')") == TOKEN


def test_the_token_in_the_fragment_signs_in_and_leaves_the_address_bar(page, served):
    signed_in(page, served)
    assert page.url == served.page
    expect(page.locator("header.top")).to_contain_text("Fifth Anniversary Runway")


# ---- the show ----------------------------------------------------------------------------------------
def test_seeking_the_show_moves_the_status_clock(page, served):
    signed_in(page, served)
    page.get_by_role("button", name="Pause").click()
    expect(page.locator(".big-clock .badge")).to_have_text("paused")
    page.get_by_label("Seek to").fill("5:00")
    page.get_by_role("button", name="Seek", exact=True).click()
    expect(page.locator("[data-status-clock]")).to_have_text("5:00")
    expect(page.get_by_role("status")).to_contain_text("Moved to 5:00")
    current = page.locator("tr[aria-current=true]")
    expect(current).to_be_in_viewport()  # the cue list keeps the current cue (far down the list) in view
    assert int(current.locator("td").first.inner_text()) > 20
    page.get_by_role("button", name=re.compile(r"^Go to cue 5:")).click()  # the cue list jumps too
    expect(page.locator("[data-status-clock]")).to_have_text("0:20")
    expect(page.locator("tr[aria-current=true]")).to_contain_text("walk")


def test_a_seek_that_is_not_a_time_is_refused_on_the_page(page, served):
    signed_in(page, served)
    page.get_by_label("Seek to").fill("soon")
    page.get_by_role("button", name="Seek", exact=True).click()
    expect(page.locator(".clock [data-error]")).to_contain_text("is not a time")


# ---- polls -------------------------------------------------------------------------------------------
def test_a_visitors_answer_arrives_in_the_live_poll_chart(page, served):
    visitor = served.visitor("ada")
    signed_in(page, served, "polls")
    page.get_by_label("Question").fill("Which look closes the show?")
    page.get_by_label("Options, one per line").fill("Rose gown\nMidnight coat\nGolden cape")
    page.get_by_role("button", name="Start poll").click()
    card = page.locator("article.poll")
    expect(card).to_contain_text("Which look closes the show?")
    expect(card.locator("[data-label='Midnight coat'] [data-count]")).to_have_text("0")

    assert served.answer_poll(visitor, 1)["option"] == 1
    expect(card.locator("[data-label='Midnight coat'] [data-count]")).to_have_text("1")
    expect(card).to_contain_text("1 answer")
    drawn = page.evaluate("Chart.getChart(document.querySelector('article.poll canvas')).data.datasets[0].data")
    assert drawn == [0, 1, 0]  # the chart itself, not only the figures beside it

    card.get_by_role("button", name="Close poll").click()
    closed = page.locator("section", has_text="Closed from this page").locator("article.poll")
    expect(closed.locator("[data-label='Midnight coat'] [data-count]")).to_have_text("1")
    expect(page.locator("text=No poll is open.")).to_be_visible()


# ---- challenges --------------------------------------------------------------------------------------
def test_approving_an_entry_takes_it_out_of_the_moderation_queue(page, served):
    served.phase("submissions")
    artist = served.member("ada")
    entry = served.upload(artist, "Rose in motion", png(64, 48, (200, 40, 70)))
    assert entry["type"] == "entry", entry
    signed_in(page, served, "challenges")
    page.get_by_role("button", name=f"Open Sketch the rose dress ({CHALLENGE})").click()
    page.get_by_label("Phase").select_option("review")
    page.get_by_role("button", name="Move to phase").click()
    expect(page.locator(f"tr[data-challenge={CHALLENGE}] [data-phase]")).to_have_text("review")

    queued = page.locator(f"ul.queue li[data-entry='{entry['entry']}']")
    expect(queued).to_contain_text("Rose in motion")
    image = queued.locator("img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 64  # the stored JPEG, from a Blob URL
    queued.get_by_role("button", name="Approve Rose in motion").click()
    expect(queued).to_have_count(0)
    expect(page.locator("[data-queue-empty]")).to_be_visible()
    expect(page.locator(f"ul.decided li[data-entry='{entry['entry']}']")).to_have_attribute("data-status", "approved")


def test_rejecting_an_entry_keeps_the_reason(page, served):
    served.phase("submissions")
    artist = served.member("bo")
    entry = served.upload(artist, "Blue study", png(40, 40, (30, 60, 200)))
    signed_in(page, served, "challenges")
    queued = page.locator(f"ul.queue li[data-entry='{entry['entry']}']")
    queued.get_by_label("Reason for rejecting Blue study").fill("no rose in it")
    queued.get_by_role("button", name="Reject Blue study").click()
    decided = page.locator(f"ul.decided li[data-entry='{entry['entry']}']")
    expect(decided).to_have_attribute("data-status", "rejected")
    expect(decided).to_contain_text("no rose in it")


def test_featuring_is_refused_with_the_servers_reason_until_the_challenge_is_closed(page, served):
    served.phase("submissions")
    entry = served.upload(served.member("ada"), "Rose in motion", png(64, 48, (200, 40, 70)))
    assert served.host({"type": "host_moderate", "entry": entry["entry"], "approve": True})["type"] == "host_ok"
    signed_in(page, served, "challenges")
    page.get_by_role("button", name=f"Open Sketch the rose dress ({CHALLENGE})").click()
    page.get_by_role("button", name="Publish featured").click()
    refusal = page.locator("[data-open-challenge] .controls [data-error]")
    expect(refusal).to_contain_text("not_closed:")  # the server's own words
    expect(refusal).to_contain_text("Sketch the rose dress")

    page.get_by_label("Phase").select_option("closed")
    page.get_by_role("button", name="Move to phase").click()
    expect(page.locator(f"tr[data-challenge={CHALLENGE}] [data-phase]")).to_have_text("closed")
    page.get_by_role("button", name="Publish featured").click()
    expect(page.locator("[data-open-challenge] .controls [role=status]")).to_contain_text("featured entries published")
    expect(page.locator(f"ul.decided li[data-entry='{entry['entry']}']")).to_contain_text("#1 featured")
    expect(page.locator(f"tr[data-challenge={CHALLENGE}] [data-featured]")).to_have_text("yes")


# ---- members and invites -----------------------------------------------------------------------------
def test_invites_are_issued_and_revoked_and_an_unknown_code_shows_the_servers_reason(page, served):
    signed_in(page, served, "members")
    page.get_by_label("Uses").fill("3")
    page.get_by_role("button", name="Issue an invite code").click()
    issued = page.get_by_role("status").filter(has_text="New code")
    expect(issued).to_contain_text("3 uses")
    code = re.search(r"New code (\S+):", issued.inner_text()).group(1)
    row = page.locator(f"tr[data-code='{code}']")
    expect(row).to_contain_text("0 / 3")
    row.get_by_role("button", name=f"Revoke {code}").click()
    expect(row).to_contain_text("revoked")

    page.get_by_label("Revoke code").fill("NOSUCHCODE42")
    page.get_by_role("button", name="Revoke", exact=True).click()
    refusal = page.locator("article", has_text="Invites").locator("[data-error]")
    expect(refusal).to_be_visible()
    assert refusal.inner_text().strip()  # whatever the server said, shown as it said it


def test_a_member_appears_with_a_role_to_change(page, served):
    served.member("cleo")
    signed_in(page, served, "members")
    row = page.locator("tr", has_text="cleo")
    expect(row).to_be_visible()
    row.get_by_label("Role of cleo").fill("ambassador")
    row.get_by_role("button", name="Set").click()
    expect(page.get_by_role("status").filter(has_text="cleo is now ambassador")).to_be_visible()


# ---- audiences ---------------------------------------------------------------------------------------
def test_the_segments_chart_and_an_audience_with_invites(page, served):
    served.member("dee")
    signed_in(page, served, "audiences")
    expect(page.locator("figure.chart canvas")).to_be_visible()
    expect(page.locator("tr[data-segment]")).to_have_count(11)
    page.get_by_label("Invite code each, for").fill("2")
    page.get_by_role("button", name="Reach them").click()
    expect(page.get_by_role("status").filter(has_text="reached")).to_contain_text("1 member reached")
    expect(page.locator("table", has_text="Invite codes handed out")).to_contain_text("dee")


# ---- keyboard and layout ----------------------------------------------------------------------------
def test_the_dashboard_works_from_the_keyboard(page, served):
    page.goto(served.page)
    page.keyboard.press("Tab")  # the token field is the first stop
    assert page.evaluate("document.activeElement.id") == "token"
    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    expect(page.locator("[data-status-clock]")).to_be_visible()
    page.keyboard.press("2")  # a shortcut, as an extra: the Polls panel
    expect(page.locator("#panel-polls")).to_be_visible()
    for _ in range(40):  # tab through the page, in order, to the form's button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Start poll":
            break
    else:
        raise AssertionError("Start poll is not reachable with Tab")
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert ring != "none"  # the focus is visible


# ---- layout ------------------------------------------------------------------------------------------
def test_every_panel_fits_a_phone_width_window(browser, served):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = signed_in(context.new_page(), served)
        for tab in ("show", "polls", "challenges", "members", "audiences"):
            page.locator(f"[data-tab={tab}]").click()
            expect(page.locator(f"#panel-{tab}")).to_be_visible()
            page.wait_for_timeout(300)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"the {tab} panel is {overflow} px wider than the window"
    finally:
        context.close()
