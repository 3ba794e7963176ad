"""The embed's words around a sign-up, in a real headless Chromium on a phone-sized screen: the
privacy policy beside the consent text, the spam folder, and "all set" for a visitor with
nothing left to answer (or nothing at all, where the form says so)."""

from __future__ import annotations

import pytest

from listserver.models import ContactStatus
from tests.chromium import expect
from tests.conftest import contact_in, publish
from tests.test_browser_embed import article

pytestmark = pytest.mark.browser

ADDRESS = "noa.embed@example-shop.net"
PRIVACY = "https://www.example-shop.net/privacy"


def short_form(site, slug: str, **changes) -> dict:
    return {"slug": slug, "name": slug, "title": f"The {slug} letter", "lists": ["newsletter"],
            "fields": ["email", {"key": "first_name", "required": False}], "allowed_origins": [site.origin],
            "privacy_url": PRIVACY, **changes}


def test_the_embed_points_to_the_spam_folder_then_says_all_set_or_nothing(app, live_server, site, phone):  # noqa: F811
    live_app, base = live_server
    publish(app, short_form(site, "short"))
    publish(app, short_form(site, "quiet", when_complete="nothing"))
    post = site.add("/blog/post", article(base, "short"))
    quiet = site.add("/blog/quiet", article(base, "quiet", title="A quiet post"))
    page = phone.page

    page.goto(post)
    privacy = page.locator("#signup .consent").get_by_role("link", name="Privacy policy")
    expect(privacy).to_have_attribute("href", PRIVACY)
    page.get_by_label("Email address").fill(ADDRESS)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    expect(page.get_by_text("Look in the spam folder")).to_be_visible()
    assert contact_in(live_app, ADDRESS).status == ContactStatus.PENDING

    # Back on the blog: nothing left to ask this browser, so a word of thanks instead of nothing.
    page.reload()
    expect(page.get_by_role("heading", name="You are all set")).to_be_visible()
    expect(page.get_by_text("A few more questions")).to_have_count(0)
    offer = page.get_by_role("link", name="Email me a link to my preferences")
    # The link only leads to the page that emails one to the mailbox; no preference token in this page.
    expect(offer).to_have_attribute("href", f"{base}/preferences/new-link")
    assert "/preferences/" not in page.locator("#signup").evaluate(
        "e => e.shadowRoot.innerHTML.replace(/\\/preferences\\/new-link/g, '')")
    phone.assert_fits_the_screen()

    # A form that asks for nothing in that case shows nothing at all on the host page.
    with page.expect_response(lambda answer: answer.url.endswith("/f/quiet/next")):
        page.goto(quiet)
    # Wait for the script's own decision (its box made and hidden), not a fixed time: on a loaded
    # machine the checks below would otherwise pass before the script had shown anything.
    page.wait_for_function("() => { const root = document.querySelector('#signup').shadowRoot;"
                           " const box = root && root.querySelector('.ls'); return !!box && box.hidden; }")
    expect(page.get_by_role("heading", name="A quiet post")).to_be_visible()
    expect(page.get_by_text("You are all set")).to_have_count(0)
    expect(page.get_by_text("The quiet letter")).to_have_count(0)

    # Someone else on this computer: "Not you?" asks for an address again.
    page.goto(post)
    page.get_by_role("button", name="Not you?").click()
    expect(page.get_by_label("Email address")).to_be_visible()
