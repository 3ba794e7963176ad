"""Nobody real is lost to the bot defence (issue 19), in a real headless Chromium on a phone-sized screen.

What a doubtful submission costs a person: at most one more press on listserver's own pages, a
moment's wait in the embed, and a second of a phone's work past a rate limit. tests/test_challenge.py
shows the same without a browser, and what a script that does not do the work still gets.
"""

from __future__ import annotations

import statistics
import threading
import time

import pytest
from werkzeug.serving import make_server

from listserver.capture.bots import Guard
from listserver.cli import embedded
from listserver.extensions import db
from listserver.models import ContactStatus
from tests.capture.test_challenge import old_stamp
from tests.chromium import expect
from tests.conftest import contact_in, free_port, publish
from tests.test_browser_embed import LISTS, article, form_spec

pytestmark = pytest.mark.browser


@pytest.fixture
def serve(make_app):
    """listserver on a real port, with the settings a test asks for."""
    servers = []

    def _serve(**changes):
        port = free_port()
        app = make_app(base_url=f"http://127.0.0.1:{port}", **changes)
        with app.app_context(), db.session() as session:
            embedded.ensure_demo(session)
        server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return app, f"http://127.0.0.1:{port}"

    yield _serve
    for server in servers:
        server.shutdown()


def mailed(app, deliver, inbox, address: str) -> bool:
    deliver(app)
    return len(inbox.to(address)) == 1


def test_an_autofilled_form_sent_200_ms_after_load_reaches_the_person_with_one_more_press(
        serve, phone, inbox, deliver):
    app, base = serve(form_min_seconds=2)
    page, address = phone.page, "auto.fill@example-shop.net"
    page.goto(f"{base}/f/demo")
    # The browser's autofill fills everything at once, and the visitor presses Enter 200 ms after load.
    with page.expect_response(lambda r: r.request.method == "POST") as answered:
        page.evaluate("""address => {
            const navigation = performance.getEntriesByType("navigation")[0];
            setTimeout(() => {
                document.querySelector("[name=email]").value = address;
                document.querySelector("[name=first_name]").value = "Ada";
                // How long after listserver rendered the page (and its stamp) this is sent.
                sessionStorage.setItem("sent_after_ms", performance.now() - navigation.responseStart);
                document.querySelector("form").requestSubmit();
            }, Math.max(0, 200 - (performance.now() - navigation.loadEventEnd)));
        }""", address)
    first = answered.value.text()
    sent_after_ms = float(page.evaluate("sessionStorage.getItem('sent_after_ms')"))
    if sent_after_ms < 1500:  # surely under the two seconds (a loaded machine may take longer to load)
        assert "One more step" in first
    if "One more step" in first:
        expect(page.get_by_label("Email address")).to_have_value(address)
        expect(page.get_by_label("First name")).to_have_value("Ada")
        assert contact_in(app, address) is None
        # Pressed at once again: the page waits out the fresh stamp's two seconds rather than refuse.
        page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert contact_in(app, address).status == ContactStatus.PENDING
    assert mailed(app, deliver, inbox, address)


def test_the_embed_sending_at_once_reaches_the_person_with_no_press_more(serve, site, phone, inbox, deliver):
    app, base = serve(form_min_seconds=2)
    publish(app, form_spec(site), LISTS)
    page, address = phone.page, "at.once@example-shop.net"
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" and r.url.endswith("/f/growth") else None)
    page.goto(site.add("/blog/post", article(base)))
    page.get_by_label("Email address").fill(address)
    pressed = time.monotonic()
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    waited = time.monotonic() - pressed
    # Sent once, told to wait for a fresh stamp's minimum age, sent again by itself.
    assert len(posts) == 2 and 1.5 < waited < 8, (len(posts), waited)
    assert contact_in(app, address).status == ContactStatus.PENDING
    assert mailed(app, deliver, inbox, address)


def test_forty_people_behind_one_address_in_a_minute_are_all_mailed_after_their_challenge(
        serve, site, phone, inbox, deliver):
    # Thirty an hour rather than a minute: the same forty people, and the test does not depend on
    # this machine signing them all up within one minute's window.
    app, base = serve(ratelimit_ip="30/hour")
    publish(app, form_spec(site), LISTS)
    post = site.add("/blog/post", article(base))
    page = phone.page
    addresses = [f"booth{n}@example-shop.net" for n in range(40)]
    challenged: dict[str, list[float]] = {"hosted": [], "embed": []}
    started = time.monotonic()
    for n, address in enumerate(addresses):
        hosted = n % 2 == 0  # every other person uses the blog's embedded form
        page.goto(f"{base}/f/demo" if hosted else post)
        page.get_by_label("Email address").fill(address)
        page.get_by_role("button", name="Sign up").click()
        pressed = time.monotonic()
        if hosted and n >= 30:  # past the network's thirty: the form again, and the phone's work
            expect(page.get_by_text("One more step")).to_be_visible()
            expect(page.get_by_label("Email address")).to_have_value(address)
            pressed = time.monotonic()
            page.get_by_role("button", name="Sign up").click()  # waits for the work, then sends
        # The phone's work is CPU: on a test machine busy with other suites it can take several seconds.
        expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible(
            timeout=30_000 if n >= 30 else 5_000)
        page.evaluate("localStorage.clear()")  # forty phones: the next person is not recognised as this one
        if n >= 30:
            challenged["hosted" if hosted else "embed"].append(time.monotonic() - pressed)
    took = time.monotonic() - started
    deliver(app)
    assert [address for address in addresses if len(inbox.to(address)) != 1] == []
    seconds = challenged["hosted"] + challenged["embed"]
    assert len(seconds) == 10 and max(seconds) < 30  # test_a_phone_solves_... measures the work alone
    print(f"\nchallenged sign-ups, press to 'Check your inbox' (s): hosted {challenged['hosted']}, "
          f"embed {challenged['embed']}; median {statistics.median(seconds):.2f}; forty in {took:.0f} s")


def test_a_phone_solves_a_challenge_in_about_a_second(serve, phone):
    """The work alone, on a CPU slowed four times as a mid-range phone is (Lighthouse's figure)."""
    app, base = serve()
    page = phone.page
    page.goto(f"{base}/f/demo")
    page.add_script_tag(url=f"{base}/static/challenge.js")
    phone.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": 4})
    guard = Guard(app.config["SETTINGS"])
    took = []
    for _ in range(6):
        solution, ms = page.evaluate("""challenge => new Promise(done =>
            listserverChallenge.solve(challenge, (solution, ms) => done([solution, ms])))""",
                                     guard.challenge().as_json())
        assert guard.redeem(solution)  # the server takes what the browser found
        took.append(ms)
    print(f"\nchallenge solved on a 4x slower CPU in (ms): {sorted(took)}; median {statistics.median(took):.0f}")
    assert statistics.median(took) < 3000  # about a second; this machine is shared and loaded


def test_a_stamp_aged_25_hours_leads_to_one_more_press_not_a_loss(serve, phone, inbox, deliver):
    app, base = serve()
    page, address = phone.page, "kept.open@example-shop.net"
    page.goto(f"{base}/f/demo/frame")  # the iframe variant, as a tab kept open since yesterday
    page.locator("input[name=_ts]").evaluate("(input, stamp) => { input.value = stamp; }", old_stamp(app))
    page.get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("One more step")).to_be_visible()
    assert contact_in(app, address) is None
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert mailed(app, deliver, inbox, address)


def test_a_bot_that_fills_the_honeypot_sees_what_a_person_sees_and_nothing_is_sent(serve, phone, inbox, deliver):
    app, base = serve()
    page, address = phone.page, "bot.fill@example-shop.net"
    page.goto(f"{base}/f/demo")
    page.get_by_label("Email address").fill(address)
    page.locator("input[name=_hp]").evaluate("input => { input.value = 'http://spam.example'; }")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert contact_in(app, address) is None
    deliver(app)
    assert inbox.to(address) == []
