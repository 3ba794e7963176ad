"""Whether mail can reach an address: DNS is believed only when it tells the truth, one "no" is
asked again before anyone is cleaned, and a person who confirms is deliverable.

DNS is the edge of the world here, faked by loopback DNS servers (conftest: dns_server, fake_dns).
"""

import csv
import datetime as dt
import io

import sqlalchemy as sa
from flask.cli import ScriptInfo

from listserver.cli import main
from listserver.extensions import db
from listserver.mail import jobs as mail_jobs
from listserver.mail import outbox
from listserver.models import ContactStatus, OutboxMessage, OutboxStatus, Suppression
from listserver.models._types import utcnow
from tests.conftest import DNS_ZONE, contact_of, stamp

DEAD = "revived-shop.net"
# The world once this domain's DNS is repaired (in DNS_ZONE it does not exist).
ZONE_REPAIRED = DNS_ZONE + f"{DEAD}. 60 IN MX 10 mx.example-shop.net.\n"


def sign_up(app, address: str):
    client = app.test_client()
    return client.post("/f/demo", data={"email": address, "_ts": stamp(client)})


def later(app, deliver, minutes: int = 31):
    """The relay's pass `minutes` from now, then the workers, as the scheduler would do then."""
    with app.app_context(), db.session() as session:
        outbox.hand_over(session, mail_jobs.dispatch, app.config["SETTINGS"],
                         now=utcnow() + dt.timedelta(minutes=minutes))
    deliver(app)


def exported(app) -> list[str]:
    """The addresses `listserver contacts export` gives a marketer's sending tool."""
    result = app.test_cli_runner().invoke(main, ["contacts", "export"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    return [row["email"] for row in csv.DictReader(io.StringIO(result.output))]


def test_a_resolver_that_denies_every_name_cleans_nobody_and_mails_everyone(app, make_app, fake_dns, deliver,
                                                                            inbox, session):
    # Offline boxes, captive portals and broken DNS answer "no such domain" for every name,
    # the canary included: nothing they say about a domain can be believed.
    offline = make_app(dns_nameservers=(fake_dns(""),))
    addresses = ("ann@example-shop.net", "bob@null-mx-shop.net", "cy@nowhere-at-all-shop.net")
    for address in addresses:
        assert "Check your inbox" in sign_up(offline, address).text
    deliver(offline)
    for address in addresses:
        assert len(inbox.to(address)) == 1, f"{address} was told to check the inbox and got nothing"
        contact = contact_of(session, address)
        assert contact.status == ContactStatus.PENDING
        assert contact.email_check == "unknown"
    assert session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0


def test_a_dead_domain_is_asked_again_before_anyone_is_cleaned(app, deliver, inbox, session):
    # The canary answers (it is in DNS_ZONE), so this resolver's "no" is believed, but only twice.
    addresses = ("someone@null-mx-shop.net", f"someone@{DEAD}")
    for address in addresses:
        sign_up(app, address)
    deliver(app)
    assert inbox.messages == []
    for address in addresses:
        assert contact_of(session, address).status == ContactStatus.PENDING

    later(app, deliver)
    assert inbox.messages == []
    for address in addresses:
        contact = contact_of(session, address)
        assert contact.status == ContactStatus.CLEANED
        assert contact.email_check == "undeliverable"
    skipped = session.scalars(sa.select(OutboxMessage.last_error)
                              .where(OutboxMessage.status == OutboxStatus.SKIPPED)).all()
    assert skipped == ["domain does not accept mail"] * 2


def test_one_bad_answer_does_not_lose_a_person(app, make_app, fake_dns, deliver, inbox, session):
    address = f"pat@{DEAD}"
    sign_up(app, address)
    deliver(app)
    assert inbox.to(address) == []

    # Before the second question the domain's DNS is repaired: the email goes out, late.
    repaired = make_app(dns_nameservers=(fake_dns(ZONE_REPAIRED),))
    later(repaired, deliver)
    [mail] = inbox.to(address)
    assert contact_of(session, address).status == ContactStatus.PENDING
    repaired.test_client().post(inbox.link(mail, "confirm"))
    assert contact_of(session, address).status == ContactStatus.SUBSCRIBED
    assert address in exported(repaired)


def test_signing_up_again_asks_dns_again(app, make_app, fake_dns, deliver, inbox, session):
    address = f"pat@{DEAD}"
    sign_up(app, address)
    deliver(app)
    later(app, deliver)
    assert contact_of(session, address).status == ContactStatus.CLEANED

    # Still dead: the earlier verdict is no reason to mail without asking.
    sign_up(app, address)
    deliver(app)
    later(app, deliver)
    assert inbox.to(address) == []
    assert contact_of(session, address).email_check == "undeliverable"

    # Repaired: the earlier verdict is no reason to keep the person out either.
    repaired = make_app(dns_nameservers=(fake_dns(ZONE_REPAIRED),))
    sign_up(repaired, address)
    deliver(repaired)
    [mail] = inbox.to(address)
    assert contact_of(session, address).email_check == "deliverable"
    repaired.test_client().post(inbox.link(mail, "confirm"))
    assert contact_of(session, address).status == ContactStatus.SUBSCRIBED
    assert address in exported(repaired)


def test_confirming_proves_the_mailbox_and_puts_the_person_in_the_export(app, make_app, fake_dns, deliver,
                                                                         inbox, session):
    address = f"pat@{DEAD}"
    repaired = make_app(dns_nameservers=(fake_dns(ZONE_REPAIRED),))
    sign_up(repaired, address)
    deliver(repaired)
    [mail] = inbox.to(address)

    # The domain's DNS then fails for over half an hour while a second sign-up is checked:
    # the person is cleaned, with the first email still in their inbox.
    sign_up(app, address)
    deliver(app)
    later(app, deliver)
    contact = contact_of(session, address)
    assert (contact.status, contact.email_check) == (ContactStatus.CLEANED, "undeliverable")

    # Clicking its link proves the mailbox takes mail, whatever DNS said.
    page = app.test_client().post(inbox.link(mail, "confirm"))
    assert page.status_code == 200
    contact = contact_of(session, address)
    assert (contact.status, contact.email_check) == (ContactStatus.SUBSCRIBED, "deliverable")
    assert exported(app) == [address]
