"""The sign-up flow as a person on a phone goes through it, in a real headless Chromium."""

from __future__ import annotations

import re

import pytest

from listserver.models import ContactStatus
from tests.conftest import contact_in

pytestmark = pytest.mark.browser


def test_sign_up_confirm_and_get_the_checklist_on_a_phone(live_server, inbox, deliver, phone, tmp_path):
    from playwright.sync_api import expect

    live_app, base = live_server
    page = phone.page
    address = "zoe.phone@example-shop.net"

    # 1. The form: every field says what to type, and the reward is described.
    page.goto(f"{base}/f/demo")
    expect(page).to_have_title("Get the list-building checklist")
    expect(page.get_by_role("heading", name="Get the list-building checklist")).to_be_visible()
    email = page.get_by_label("Email address")
    first_name = page.get_by_label("First name")
    expect(email).to_be_visible()
    expect(first_name).to_be_visible()
    expect(page.get_by_text("(optional)")).to_be_visible()
    expect(page.get_by_text("We send one email to this address to confirm it is yours.")).to_be_visible()
    expect(page.get_by_text("So we know how to greet you. Any alphabet is fine.")).to_be_visible()
    # A screen reader reads the help with the field.
    expect(email).to_have_accessible_description(re.compile("We send one email to this address"))
    expect(first_name).to_have_accessible_description(re.compile("So we know how to greet you"))
    expect(page.get_by_text("What you get: The list-building checklist (one page)")).to_be_visible()
    expect(page.get_by_text("Twelve checks for sign-up forms that people finish and trust.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"once a month"))).to_be_visible()
    # The bot trap is nowhere a person could see it.
    expect(page.get_by_label("Leave this empty")).not_to_be_in_viewport()
    sign_up = page.get_by_role("button", name="Sign up")
    expect(sign_up).to_be_visible()
    assert sign_up.bounding_box()["height"] >= 44, "the Sign up button is too small to tap"
    phone.assert_fits_the_screen()
    phone.assert_styled()

    # 2. Fill it in and send it.
    email.fill(address)
    first_name.fill("Zoë")
    sign_up.click()

    # 3. The answer.
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    expect(page.get_by_text("we have sent you an email")).to_be_visible()
    phone.assert_fits_the_screen()

    # 4. The email arrives; its link opens a page that asks, and opening it confirms nothing.
    deliver(live_app)
    [mail] = inbox.to(address)
    assert mail["Subject"].startswith("Please confirm your subscription")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Hello Zoë," in text
    link = re.search(r"https?://\S+/confirm/\S+", text).group(0)
    assert link.startswith(f"{base}/confirm/")
    page.goto(link)
    expect(page.get_by_role("heading", name="One last step")).to_be_visible()
    expect(page.get_by_text("Press the button to confirm that you want to receive The Monthly Letter.")).to_be_visible()
    subscribe = page.get_by_role("button", name="Yes, subscribe me")
    expect(subscribe).to_be_visible()
    phone.assert_fits_the_screen()
    assert contact_in(live_app, address).status == ContactStatus.PENDING

    # 5. Press the button: subscribed, and the promised checklist is one tap away.
    subscribe.click()
    expect(page.get_by_role("heading", name="You are subscribed")).to_be_visible()
    expect(page.get_by_text("The list-building checklist (one page)")).to_be_visible()
    expect(page.get_by_text("We have also sent it to you by email.")).to_be_visible()
    open_checklist = page.get_by_role("link", name="Open the checklist")
    expect(open_checklist).to_be_visible()
    phone.assert_fits_the_screen()
    page.screenshot(path=tmp_path / "confirmed.png", full_page=True)
    contact = contact_in(live_app, address)
    assert contact.status == ContactStatus.SUBSCRIBED
    assert contact.attributes == {"first_name": "Zoë"}

    open_checklist.click()
    expect(page).to_have_url(f"{base}/static/demo/checklist.html")
    expect(page.get_by_role("heading", name="The list-building checklist")).to_be_visible()
    expect(page.get_by_role("listitem")).to_have_count(12)
    phone.assert_fits_the_screen()

    # Opening the email's link again later says so kindly, not "this link does not work".
    page.goto(link)
    expect(page.get_by_role("heading", name="You are already confirmed")).to_be_visible()


def test_typo_in_the_domain_is_caught_and_fixed_with_one_tap(live_server, phone):
    from playwright.sync_api import expect

    live_app, base = live_server
    page = phone.page
    page.goto(f"{base}/f/demo")
    page.get_by_label("Email address").fill("anna@gmial.com")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_text("Did you mean anna@gmail.com?")).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_value("anna@gmial.com")
    phone.assert_fits_the_screen()
    assert contact_in(live_app, "anna@gmial.com") is None

    page.get_by_role("button", name="Yes, use it").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert contact_in(live_app, "anna@gmail.com") is not None
    assert contact_in(live_app, "anna@gmial.com") is None
