"""Confirmation links: tampered, expired, reused, wrong-purpose and rotated-key tokens."""

import time

import sqlalchemy as sa

from listserver.contacts.links import Links
from listserver.models import Contact, ContactStatus
from listserver.tokens import Purpose, Signer, TokenInvalid


def pending_link(app, submit, deliver, inbox, address="token@example-shop.net"):
    submit(address)
    deliver(app)
    return inbox.link(inbox.to(address)[-1], "confirm")


def status_of(session, address="token@example-shop.net"):
    return session.scalar(sa.select(Contact.status).where(Contact.email_key == address))


def test_tampered_token_gets_a_friendly_page_and_changes_nothing(app, client, submit, deliver, inbox, session):
    link = pending_link(app, submit, deliver, inbox)
    tampered = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    for method in (client.get, client.post):
        page = method(tampered)
        assert page.status_code == 404 and "This link does not work" in page.text
    assert status_of(session) == ContactStatus.PENDING


def test_reused_token_says_already_confirmed(app, client, submit, deliver, inbox, session):
    link = pending_link(app, submit, deliver, inbox)
    assert client.post(link).status_code == 200
    again = client.post(link)
    assert again.status_code == 200 and "You are already confirmed" in again.text
    assert "You are already confirmed" in client.get(link).text


def test_expired_token_offers_a_fresh_link(make_app, submit, deliver, inbox, session, app):
    link = pending_link(app, submit, deliver, inbox)
    time.sleep(1.1)
    short_lived = make_app(confirm_token_days=0)  # every token is now too old
    client = short_lived.test_client()
    page = client.get(link)
    assert page.status_code == 410 and "This link has expired" in page.text
    assert client.post(link).status_code == 410
    assert status_of(session) == ContactStatus.PENDING

    fresh = client.post(link + "/resend")
    assert fresh.status_code == 200 and "a fresh link is on its way" in fresh.text
    deliver(short_lived)
    assert len(inbox.to("token@example-shop.net")) == 2
    # The fresh link works once lifetimes are back to normal.
    new_link = inbox.link(inbox.to("token@example-shop.net")[-1], "confirm")
    assert app.test_client().post(new_link).status_code == 200
    assert status_of(session) == ContactStatus.SUBSCRIBED


def test_resend_for_a_garbage_token_says_the_same_and_sends_nothing(app, client, inbox, deliver):
    page = client.post("/confirm/garbage/resend")
    assert page.status_code == 200 and "a fresh link is on its way" in page.text
    deliver(app)
    assert inbox.messages == []


def test_wrong_purpose_token_is_rejected(app, client, submit, deliver, inbox, session):
    pending_link(app, submit, deliver, inbox)
    contact = session.scalar(sa.select(Contact))
    links = Links(app.config["SETTINGS"])
    # The unsubscribe link of the same contact, presented as a confirmation link.
    wrong = "/confirm/" + links.unsubscribe(contact).rsplit("/", 1)[1]
    assert client.post(wrong).status_code == 404
    # Same payload shape, signed for preferences.
    forged = Signer(app.config["SETTINGS"]).sign(Purpose.PREFERENCES, {"c": contact.id, "v": 1, "f": 1})
    assert client.post(f"/confirm/{forged}").status_code == 404
    assert status_of(session) == ContactStatus.PENDING


def test_keys_rotate_new_first_old_still_verifies(settings):
    old_only = Signer(settings.replace(secret_keys=("test-secret-old",)))
    token = old_only.sign(Purpose.CONFIRM, {"c": 1})
    assert Signer(settings).load(Purpose.CONFIRM, token) == {"c": 1}
    new_token = Signer(settings).sign(Purpose.CONFIRM, {"c": 1})
    assert Signer(settings.replace(secret_keys=("test-secret-new",))).load(Purpose.CONFIRM, new_token) == {"c": 1}
    retired = Signer(settings.replace(secret_keys=("brand-new",)))
    try:
        retired.load(Purpose.CONFIRM, token)
    except TokenInvalid:
        pass
    else:
        raise AssertionError("a token signed with a retired key was accepted")
