"""What a receiving mail server sees: list headers, https unsubscribe links, addresses at IDN domains."""

import secrets
import threading
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from aiosmtpd.controller import Controller

from listserver.cli import embedded
from listserver.extensions import db
from listserver.models import OutboxMessage, OutboxStatus
from tests.conftest import DNS_ZONE, free_port, publish, stamp

# The world's DNS, faked at its edge as in conftest, with a domain whose name is not ASCII.
IDN_ZONE = DNS_ZONE + """
xn--bcher-kva.example.     60 IN MX 10 mx.xn--bcher-kva.example.
mx.xn--bcher-kva.example.  60 IN A 93.184.216.36
"""


class Relay:
    """A loopback SMTP relay that keeps the envelope and the bytes exactly as they arrived."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append((envelope.rcpt_tos, envelope.mail_options, envelope.content))
        return "250 OK"

    def take(self):
        with self.lock:
            received, self.received = self.received, []
        return received


@pytest.fixture
def idn_dns(fake_dns):
    # conftest's server for the zone, kept for the run: a port freed here and taken by another zone
    # would inherit what listserver's DNS canary remembers about this one.
    return fake_dns(IDN_ZONE)


@pytest.fixture(scope="module")
def relays():
    """Two relays: one offers SMTPUTF8 (RFC 6531), one does not, as many still do not."""
    started = {}
    for name, smtputf8 in (("utf8", True), ("plain", False)):
        relay = Relay()
        controller = Controller(relay, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=smtputf8)
        controller.start()
        started[name] = (controller, relay)
    yield started
    for controller, _ in started.values():
        controller.stop()


def demo_app(make_app, **changes):
    app = make_app(**changes)
    with app.app_context(), db.session() as session:
        embedded.ensure_demo(session)
    return app


def sign_up(app, address: str, slug: str = "demo"):
    client = app.test_client()
    page = client.post(f"/f/{slug}", data={"email": address, "_ts": stamp(client, slug)})
    assert page.status_code == 200 and "Check your inbox" in page.text
    return client


def outbox_rows(app):
    with so.Session(app.extensions["listserver.db"].engine) as session:
        return session.execute(sa.select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.attempts,
                                         OutboxMessage.last_error).order_by(OutboxMessage.id)).all()


def raw_header(message, name: str) -> str:
    """A header as it came over the wire, before any decoding."""
    return next(value for key, value in message.raw_items() if key.lower() == name.lower())


def test_production_emails_about_a_list_carry_its_list_id_and_an_https_unsubscribe(make_app, inbox, deliver):
    app = make_app(env="production", base_url="https://lists.example.com", secret_keys=(secrets.token_urlsafe(48),))
    publish(app, {"slug": "books", "name": "Books", "lists": ["books", "events"],
                  "lead_magnet": {"title": "Reading list", "url": "https://shop.example/reading-list"}},
            lists=[{"key": "books", "name": "Bücher & Neuheiten, monatlich"}, {"key": "events", "name": "Events"}])
    client = sign_up(app, "reader@example-shop.net", "books")
    deliver(app)
    [confirmation] = inbox.to("reader@example-shop.net")
    client.post(inbox.link(confirmation, "confirm"))
    sign_up(app, "reader@example-shop.net", "books")
    deliver(app)

    mails = {mail["X-Listserver-Kind"]: mail for mail in inbox.to("reader@example-shop.net")}
    assert sorted(mails) == ["already_subscribed", "confirmation", "lead_magnet"]
    for mail in mails.values():
        # Mail clients group and filter by it, and show the list's name (RFC 2919).
        assert str(mail["List-Id"]) == "Bücher & Neuheiten, monatlich <books.lists.example.com>"
        wire = raw_header(mail, "List-Id")
        assert wire.isascii() and "=?utf-8?" in wire  # the name as encoded words, every byte 7-bit
        # Gmail and Yahoo offer one-click unsubscribe only for an https link.
        assert mail["List-Unsubscribe"].startswith("<https://lists.example.com/unsubscribe/")
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_an_address_at_an_idn_domain_reaches_a_relay_without_smtputf8(make_app, deliver, relays, idn_dns):
    controller, relay = relays["plain"]
    relay.take()
    app = demo_app(make_app, smtp_port=controller.port, dns_nameservers=(idn_dns,))
    sign_up(app, "anna@bücher.example")
    deliver(app)

    [(recipients, options, content)] = relay.take()
    assert recipients == ["anna@xn--bcher-kva.example"] and "SMTPUTF8" not in options
    mail = message_from_bytes(content, policy=policy.default)
    assert raw_header(mail, "To") == "anna@xn--bcher-kva.example"  # the domain in punycode, no encoded word
    assert content.isascii()
    assert str(mail["List-Id"]) == "The Monthly Letter <newsletter.127.0.0.1>"
    assert [row.status for row in outbox_rows(app)] == [OutboxStatus.SENT]


def test_a_non_ascii_local_part_goes_with_smtputf8_where_the_relay_offers_it(make_app, deliver, relays, idn_dns):
    controller, relay = relays["utf8"]
    relay.take()
    app = demo_app(make_app, smtp_port=controller.port, dns_nameservers=(idn_dns,))
    sign_up(app, "jürgen@bücher.example")
    deliver(app)

    [(recipients, options, content)] = relay.take()
    assert recipients == ["jürgen@xn--bcher-kva.example"] and "SMTPUTF8" in options
    assert "\r\nTo: jürgen@xn--bcher-kva.example\r\n".encode() in content  # UTF-8 where it must be, IDNA where it may


def test_a_non_ascii_local_part_fails_once_and_visibly_at_a_relay_without_smtputf8(make_app, deliver, relays,
                                                                                     idn_dns):
    controller, relay = relays["plain"]
    relay.take()
    app = demo_app(make_app, smtp_port=controller.port, dns_nameservers=(idn_dns,))
    sign_up(app, "jürgen@bücher.example")
    deliver(app)

    [(kind, status, attempts, reason)] = outbox_rows(app)
    assert (kind, status, attempts) == ("confirmation", OutboxStatus.FAILED, 1)
    assert "SMTPUTF8" in reason and "before the @" in reason  # what the marketer reads in the console's Outbox
    assert relay.take() == []

    deliver(app)  # the relay's next passes: the message is not tried again
    assert outbox_rows(app) == [(kind, status, attempts, reason)]
