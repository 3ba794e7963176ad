"""The signed return path (VERP) every email is sent from: what a bounce to it proves, and what it does not."""

from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa

from listserver.models import OutboxMessage
from listserver.tokens import read_return_path, return_path


@pytest.fixture
def keys(settings):
    return settings.replace(mail_from="Acme News <news@Acme-Widgets.org>")


def test_a_return_path_names_its_message_and_fits_any_mta(keys):
    address = return_path(4242, keys)
    local, _, domain = address.partition("@")
    assert local.startswith("bounces+4242-") and domain == "acme-widgets.org"  # mail_from's domain
    assert address == address.lower() and len(local) <= 64
    assert read_return_path(address, keys) == 4242
    assert read_return_path(f"<{address}>", keys) == 4242  # as a Return-Path header writes it
    # The longest message id a PostgreSQL bigint holds still fits RFC 5321's 64 characters.
    assert len(return_path(2**63 - 1, keys).partition("@")[0]) <= 64


def test_the_bounce_domain_setting_moves_the_return_path(keys):
    moved = keys.replace(bounce_domain="Bounces.Example-Shop.net")
    assert return_path(7, moved).endswith("@bounces.example-shop.net")
    assert read_return_path(return_path(7, moved), moved) == 7


def test_an_mta_that_folds_case_keeps_the_return_path_valid(keys):
    address = return_path(31337, keys)
    assert read_return_path(address.upper(), keys) == 31337
    local, _, domain = address.partition("@")
    assert read_return_path(f"{local.capitalize()}@{domain.upper()}", keys) == 31337


def test_a_tampered_return_path_names_nothing(keys):
    address = return_path(1000, keys)
    local, _, domain = address.partition("@")
    token_id, _, mac = local.removeprefix("bounces+").partition("-")
    # Someone who wants a stranger cleaned puts another message's id beside a genuine signature.
    assert read_return_path(f"bounces+1001-{mac}@{domain}", keys) is None
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    assert read_return_path(f"bounces+{token_id}-{flipped}@{domain}", keys) is None
    assert read_return_path(f"bounces+0{token_id}-{mac}@{domain}", keys) is None  # the same id, spelt otherwise
    assert read_return_path(f"bounces+{token_id}-{mac[:-1]}@{domain}", keys) is None
    assert read_return_path(f"other+{token_id}-{mac}@{domain}", keys) is None


def test_a_return_path_signed_with_another_key_names_nothing_and_rotation_keeps_old_ones(keys):
    stranger = keys.replace(secret_keys=("somebody-elses-secret",))
    assert read_return_path(return_path(5, stranger), keys) is None
    # Signed before the key was rotated: the old key is still listed, so the bounce still counts.
    before_rotation = keys.replace(secret_keys=keys.secret_keys[1:])
    assert read_return_path(return_path(5, before_rotation), keys) == 5
    assert return_path(5, keys) != return_path(5, before_rotation)  # new mail is signed with the newest key


@pytest.mark.parametrize("address", [
    "", "bounces@acme-widgets.org", "bounces+@acme-widgets.org", "bounces+12-@acme-widgets.org",
    "bounces+12-zzzzzzzzzzzzzzzz@acme-widgets.org", "bounces+-1-0123456789abcdef@acme-widgets.org",
    "bounces+12-0123456789abcdef", "bounces+12-0123456789abcdef@", "bounces+１２-0123456789abcdef@x.org",
    "bounces+12-0123456789abcdef@a@b", "\x00" * 100, "bounces+" + "9" * 5000 + "-0123456789abcdef@x.org",
])
def test_what_is_not_a_return_path_names_nothing(keys, address):
    assert read_return_path(address, keys) is None


def test_a_too_long_address_names_nothing_even_with_a_genuine_signature(keys):
    genuine = return_path(77, keys)
    local, _, domain = genuine.partition("@")
    long_domain = ".".join(["a" * 60] * 4) + "." + domain  # over RFC 5321's 254 characters in all
    assert len(f"{local}@{long_domain}") > 254
    assert read_return_path(f"{local}@{long_domain}", keys) is None
    assert read_return_path(genuine + "x" * 1_000_000, keys) is None


def outbox_ids(session, address):
    return session.scalars(sa.select(OutboxMessage.id).where(OutboxMessage.recipient == address)
                           .order_by(OutboxMessage.id)).all()


def test_every_email_leaves_with_its_own_signed_return_path(app, submit, deliver, inbox, session, client):
    submit("verp@example-shop.net")
    deliver(app)
    client.post(inbox.link(inbox.to("verp@example-shop.net")[0], "confirm"))
    deliver(app)  # the lead magnet
    senders = inbox.senders_to("verp@example-shop.net")
    settings = app.config["SETTINGS"]
    assert len(senders) == 2 and all(s.startswith("bounces+") and s.endswith("@localhost") for s in senders)
    # A bounce to either envelope sender names the very email it is about.
    assert [read_return_path(s, settings) for s in senders] == outbox_ids(session, "verp@example-shop.net")
    # The From people see stays the configured one.
    assert [m["From"] for m in inbox.to("verp@example-shop.net")] == ["listserver <noreply@localhost>"] * 2


def test_the_local_mailbox_writes_the_return_path_on_top_as_a_final_mta_would(make_app, submit, deliver, session):
    app = make_app(smtp_host="", bounce_domain="bounces.acme-widgets.org")
    submit("mailbox@example-shop.net")
    deliver(app)
    [copy] = app.config["SETTINGS"].mail_dir.glob("*.eml")
    first_line = copy.read_bytes().split(b"\r\n", 1)[0].decode()
    assert first_line.startswith("Return-Path: <bounces+") and first_line.endswith("@bounces.acme-widgets.org>")
    message = message_from_bytes(copy.read_bytes(), policy=policy.default)
    assert read_return_path(message["Return-Path"], app.config["SETTINGS"]) == \
        outbox_ids(session, "mailbox@example-shop.net")[0]
