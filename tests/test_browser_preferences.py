"""The subscriber's preference center, unsubscribe page and data rights, in a real headless Chromium
on a phone-sized screen: what a person reaches from the links in our emails."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from listserver.models import ConsentRecord, Contact, Event, Frequency, Subscription, Suppression
from tests.chromium import expect
from tests.conftest import contact_of, publish

pytestmark = pytest.mark.browser

ADDRESS = "pia.prefs@example-shop.net"
MASKED = "p••••••@example-shop.net"
FORM = {"slug": "demo", "name": "listserver demo", "title": "Get the list-building checklist",
        "lists": ["newsletter", "offers"], "fields": ["email", {"key": "first_name", "required": False}],
        "lead_magnet": {"title": "Checklist", "url": "/static/demo/checklist.html"}}
OFFERS = {"key": "offers", "name": "Offers", "description": "Discounts, twice a month."}


@dataclass
class Subscriber:
    preferences: str  # full URLs on the live server, as the emails give them
    unsubscribe: str



def contact(session) -> Contact | None:
    return contact_of(session, ADDRESS)


def subscriptions(session) -> dict[str, str]:
    """list key -> subscription status"""
    return {s.mailing_list.key: s.status.value for s in contact(session).subscriptions}


def html_link(message, text: str) -> str:
    """The address of the link with this text in the HTML part of an email."""
    html = message.get_body(preferencelist=("html",)).get_content()
    found = re.search(rf'<a href="([^"]+)"[^>]*>\s*{re.escape(text)}\s*</a>', html)
    assert found, f"no link {text!r} in the email {message['Subject']!r}"
    return found.group(1).replace("&amp;", "&")


def only_mail(inbox, kind: str):
    mails = [m for m in inbox.to(ADDRESS) if m["X-Listserver-Kind"] == kind]
    assert len(mails) == 1, f"expected one {kind} email, got {[m['X-Listserver-Kind'] for m in inbox.to(ADDRESS)]}"
    return mails[0]


@pytest.fixture
def subscriber(app, live_server, inbox, deliver, phone, session) -> Subscriber:
    """A person signs up on the form on their phone, confirms from the email and gets the checklist."""
    publish(app, FORM, lists=[OFFERS])
    live_app, base = live_server
    page = phone.page

    page.goto(f"{base}/f/demo")
    page.get_by_label("Email address").fill(ADDRESS)
    page.get_by_label("First name").fill("Pia")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    deliver(live_app)
    confirmation = only_mail(inbox, "confirmation")
    page.goto(base + inbox.link(confirmation, "confirm"))
    page.get_by_role("button", name="Yes, subscribe me").click()
    expect(page.get_by_role("heading", name="You are subscribed")).to_be_visible()
    assert contact(session).status.value == "subscribed"
    assert subscriptions(session) == {"newsletter": "active", "offers": "active"}

    deliver(live_app)
    magnet = only_mail(inbox, "lead_magnet")
    preferences = html_link(magnet, "Manage your preferences")
    assert preferences == base + inbox.link(magnet, "preferences")  # the text part says the same
    unsubscribe = magnet["List-Unsubscribe"].strip("<>")
    assert preferences.startswith(f"{base}/preferences/") and unsubscribe.startswith(f"{base}/unsubscribe/")
    with inbox.lock:
        inbox.messages.clear()
    return Subscriber(preferences=preferences, unsubscribe=unsubscribe)


def test_preference_center_topics_pause_details_and_unsubscribe(subscriber, phone, session, tmp_path):
    page = phone.page

    # 1. The page names the address only masked: a forwarded email must not give it away.
    page.goto(subscriber.preferences)
    expect(page.get_by_role("heading", name="Your preferences")).to_be_visible()
    expect(page.get_by_text(f"For {MASKED}")).to_be_visible()
    assert ADDRESS not in page.content()
    assert "pia.prefs" not in page.content()
    newsletter, offers = page.get_by_label("The Monthly Letter"), page.get_by_label("Offers")
    expect(newsletter).to_be_checked()
    expect(offers).to_be_checked()
    expect(page.get_by_text("Discounts, twice a month.")).to_be_visible()
    expect(page.get_by_label("Everything we send")).to_be_checked()
    expect(page.get_by_label("First name")).to_have_value("Pia")
    phone.assert_fits_the_screen()
    phone.assert_styled()
    assert page.viewport_size["width"] == 360
    page.screenshot(path=tmp_path / "preferences-360.png", full_page=True)

    # 2. Topics and frequency: fewer emails, no offers.
    offers.uncheck()
    page.get_by_label("At most once a month").check()
    page.get_by_role("button", name="Save topics").click()
    expect(page.get_by_role("status")).to_have_text("Your topics and frequency are saved.")
    assert contact(session).frequency == Frequency.MONTHLY
    assert contact(session).status.value == "subscribed"
    assert subscriptions(session) == {"newsletter": "active", "offers": "unsubscribed"}
    page.reload()
    expect(page.get_by_label("The Monthly Letter")).to_be_checked()
    expect(page.get_by_label("Offers")).not_to_be_checked()
    expect(page.get_by_label("At most once a month")).to_be_checked()
    expect(page.get_by_label("Everything we send")).not_to_be_checked()

    # 3. A break of three months, shown with its end date; then back again.
    page.get_by_role("button", name="3 months").click()
    paused_until = contact(session).paused_until
    assert paused_until is not None
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert 85 <= (paused_until.replace(tzinfo=None) - now).days <= 95
    expect(page.get_by_role("status")).to_have_text("Paused. We will not write to you until the date shown.")
    expect(page.get_by_text(f"Paused until {paused_until:%Y-%m-%d}.")).to_be_visible()
    resume = page.get_by_role("button", name="Resume now")
    expect(resume).to_be_visible()
    expect(page.get_by_role("button", name="3 months")).to_have_count(0)
    phone.assert_fits_the_screen()
    resume.click()
    expect(page.get_by_role("status")).to_have_text("Welcome back: your emails start again.")
    expect(page.get_by_role("button", name="3 months")).to_be_visible()
    assert contact(session).paused_until is None

    # 4. Details: any alphabet is fine.
    first_name = page.get_by_label("First name")
    first_name.fill("Zoë-Ann")
    page.get_by_role("button", name="Save my details").click()
    expect(page.get_by_role("status")).to_have_text("Your details are saved.")
    expect(page.get_by_label("First name")).to_have_value("Zoë-Ann")
    c = contact(session)
    assert c.attributes == {"first_name": "Zoë-Ann"}
    assert c.attribute_sources["first_name"]["source"] == "preference_center"

    # 5. Markup is refused next to the field, shown back as text, and never rendered.
    page.get_by_label("First name").fill("<b>x</b>")
    page.get_by_role("button", name="Save my details").click()
    error = page.locator("#p-first_name-error")
    expect(error).to_have_text("Angle brackets and control characters are not allowed.")
    first_name = page.get_by_label("First name")
    expect(first_name).to_have_value("<b>x</b>")
    expect(first_name).to_have_attribute("aria-invalid", "true")
    expect(first_name).to_have_accessible_description(re.compile("Angle brackets"))
    # The error sits with its field: inside the same block, right below the input.
    field = page.locator(".field").filter(has=page.locator("#p-first_name"))
    expect(field.locator(".error")).to_have_count(1)
    input_box, error_box = first_name.bounding_box(), error.bounding_box()
    assert 0 <= error_box["y"] - (input_box["y"] + input_box["height"]) < 40
    expect(page.locator("b")).to_have_count(0)
    expect(page.get_by_role("status")).to_have_count(0)
    phone.assert_fits_the_screen()
    page.screenshot(path=tmp_path / "preferences-error-360.png", full_page=True)
    assert contact(session).attributes == {"first_name": "Zoë-Ann"}

    # 6. Unsubscribe from everything.
    page.get_by_role("button", name="Unsubscribe from everything").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    expect(page.get_by_text("You will not receive any of our emails any more.")).to_be_visible()
    phone.assert_fits_the_screen()
    assert contact(session).status.value == "unsubscribed"
    assert subscriptions(session) == {"newsletter": "unsubscribed", "offers": "unsubscribed"}

    withdrawn = session.scalars(sa.select(ConsentRecord.method).where(ConsentRecord.action == "withdrawn")
                                .order_by(ConsentRecord.id)).all()
    assert withdrawn == ["preference_center", "preference_center"]  # offers, then the newsletter
    kinds = session.scalars(sa.select(Event.kind).where(Event.contact_id == c.id).order_by(Event.id)).all()
    assert kinds[-7:] == ["unsubscribed", "frequency_changed", "paused", "resumed", "profile_updated",
                          "unsubscribed", "status_changed"]


def test_unsubscribe_page_asks_before_unsubscribing(subscriber, live_server, phone, session):
    _, base = live_server
    page = phone.page

    page.goto(subscriber.unsubscribe)
    expect(page.get_by_role("heading", name="Unsubscribe")).to_be_visible()
    button = page.get_by_role("button", name="Unsubscribe")
    expect(button).to_be_visible()
    instead = page.get_by_role("link", name="Change your preferences instead")
    expect(instead).to_be_visible()
    assert instead.get_attribute("href").startswith(f"{base}/preferences/")
    phone.assert_fits_the_screen()
    phone.assert_styled()
    # Opening the link (as a mail scanner would) changes nothing.
    assert contact(session).status.value == "subscribed"
    assert subscriptions(session) == {"newsletter": "active", "offers": "active"}

    button.click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    expect(page.get_by_text("You will not receive these emails any more.")).to_be_visible()
    expect(page.get_by_role("link", name="Manage your other topics")).to_be_visible()
    phone.assert_fits_the_screen()
    assert contact(session).status.value == "unsubscribed"
    # The proof says a person pressed the button on our page, not a mail client's one-click.
    assert session.scalars(sa.select(ConsentRecord.method).where(ConsentRecord.action == "withdrawn")).all() == [
        "unsubscribe_page", "unsubscribe_page"]
    assert subscriptions(session) == {"newsletter": "unsubscribed", "offers": "unsubscribed"}
    assert session.scalar(sa.select(sa.func.count(Suppression.id))) == 1

    # The "change your preferences" way still leads to a working page afterwards.
    page.get_by_role("link", name="Manage your other topics").click()
    expect(page.get_by_role("heading", name="Your preferences")).to_be_visible()
    expect(page.get_by_label("The Monthly Letter")).not_to_be_checked()
    expect(page.get_by_label("Offers")).not_to_be_checked()


def test_download_my_data_and_erase_me_through_the_mailbox(subscriber, live_server, inbox, deliver, phone,
                                                           session, tmp_path):
    live_app, base = live_server
    page = phone.page

    # 1. Download: the preference link alone hands out nothing; a link goes to the mailbox.
    page.goto(subscriber.preferences)
    page.get_by_role("button", name="Download my data").click()
    expect(page.get_by_role("status")).to_have_text(
        "We have sent a download link to your address. It works for 24 hours.")
    deliver(live_app)
    mail = only_mail(inbox, "data_export")
    data_link = base + inbox.link(mail, "data")
    page.goto(data_link)
    expect(page.get_by_role("heading", name="Download your data")).to_be_visible()
    phone.assert_fits_the_screen()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download my data").click()
    download = download_info.value
    # A response that becomes a download ends the navigation: Chromium reports that as an aborted
    # request, which is how a download looks to the page and not a failure.
    phone.problems[:] = [p for p in phone.problems if p != f"request failed: {data_link} (net::ERR_ABORTED)"]
    assert download.failure() is None
    assert download.suggested_filename == "my-data.json"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data["profile"]["email"] == ADDRESS
    assert data["profile"]["attributes"] == {"first_name": "Pia"}
    assert sorted((s["list"], s["status"]) for s in data["subscriptions"]) == [
        ("Offers", "active"), ("The Monthly Letter", "active")]
    assert [c["action"] for c in data["consent_records"]][:2] == ["granted", "granted"]
    assert "confirmed" in [e["kind"] for e in data["events"]]

    # 2. Erase: nothing happens until the emailed link is used and its button pressed.
    with inbox.lock:
        inbox.messages.clear()
    page.goto(subscriber.preferences)
    page.get_by_role("button", name="Erase me").click()
    expect(page.get_by_role("status")).to_have_text(
        "We have sent a link to your address. Open it to confirm the erasure.")
    assert contact(session) is not None
    deliver(live_app)
    erase_link = base + inbox.link(only_mail(inbox, "erase_request"), "erase")
    page.goto(erase_link)
    expect(page.get_by_role("heading", name="Erase your data")).to_be_visible()
    phone.assert_fits_the_screen()
    assert contact(session) is not None
    page.get_by_role("button", name="Erase everything").click()
    expect(page.get_by_role("heading", name="Your data is erased")).to_be_visible()
    assert contact(session) is None
    assert session.scalar(sa.select(sa.func.count(Subscription.id))) == 0
    [suppression] = session.scalars(sa.select(Suppression)).all()
    assert suppression.reason == "erased"

    # 3. The preference link now leads to a page that says so.
    page.goto(subscriber.preferences)
    expect(page.get_by_role("heading", name="Nothing is stored for this link")).to_be_visible()
    expect(page.get_by_text("The data this link was for has been erased.")).to_be_visible()
    assert ADDRESS not in page.content() and MASKED not in page.content()
    phone.assert_fits_the_screen()

