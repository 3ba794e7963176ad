"""The visitor's path: form page, submission, confirmation email, confirmation, consent proof."""

import json
import re

import sqlalchemy as sa

from listserver.models import ConsentRecord, Contact, ContactStatus, Event, Subscription
from tests.conftest import contact_of, publish, stamp


def test_form_page_describes_every_field_and_the_consent(client):
    page = client.get("/f/demo")
    assert page.status_code == 200
    assert '<label for="f-email">Email address</label>' in page.text
    assert "We send one email to this address to confirm it is yours." in page.text
    assert "once a month" in page.text and "never share" in page.text
    assert "The list-building checklist" in page.text
    assert 'name="viewport"' in page.text
    # No "repeat your email" field.
    assert page.text.count('type="email"') == 1


def test_unknown_form_is_a_friendly_404(client):
    page = client.get("/f/no-such-form")
    assert page.status_code == 404
    assert "There is nothing at this address" in page.text


def test_signup_confirm_and_lead_magnet(app, client, submit, deliver, inbox, session):
    page = submit("Zoë.O'Brien+news@Example-Shop.net", first_name="Zoë")
    assert page.status_code == 200
    assert "Check your inbox" in page.text

    deliver(app)
    [mail] = inbox.to("Zoë.O'Brien+news@Example-Shop.net")
    assert mail["Subject"].startswith("Please confirm your subscription")
    assert mail["List-Unsubscribe"].startswith("<http://127.0.0.1:5000/unsubscribe/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.get_body(preferencelist=("html",)) is not None
    assert "Hello Zoë," in mail.get_body(preferencelist=("plain",)).get_content()

    link = inbox.link(mail, "confirm")
    # A link scanner only GETs: that shows a button and confirms nobody.
    assert "Yes, subscribe me" in client.get(link).text
    assert client.head(link).status_code == 200
    contact = contact_of(session, "zoë.o'brien+news@example-shop.net")
    assert contact.status == ContactStatus.PENDING

    done = client.post(link)
    assert done.status_code == 200
    assert "You are subscribed" in done.text and "Open the checklist" in done.text

    session.expire_all()
    contact = contact_of(session, "zoë.o'brien+news@example-shop.net")
    assert contact.status == ContactStatus.SUBSCRIBED
    assert contact.email == "Zoë.O'Brien+news@Example-Shop.net"
    assert contact.attributes == {"first_name": "Zoë"}
    assert [s.status.value for s in contact.subscriptions] == ["active"]
    deliver(app)
    [magnet] = [m for m in inbox.to("Zoë.O'Brien+news@Example-Shop.net") if m["X-Listserver-Kind"] == "lead_magnet"]
    assert "/static/demo/checklist.html" in magnet.get_body(preferencelist=("plain",)).get_content()


def test_consent_proof_records_version_text_time_ip_and_agent(app, client, submit, deliver, inbox, session):
    submit("proof@example-shop.net", headers={}) if False else client.post(
        "/f/demo", data={"email": "proof@example-shop.net", "_ts": stamp(client)},
        headers={"User-Agent": "ProofBrowser/1.0"}, environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    deliver(app)
    client.post(inbox.link(inbox.to("proof@example-shop.net")[0], "confirm"),
                headers={"User-Agent": "ClickBrowser/2.0"}, environ_base={"REMOTE_ADDR": "198.51.100.8"})
    contact = contact_of(session, "proof@example-shop.net")
    records = session.scalars(sa.select(ConsentRecord).where(ConsentRecord.contact_id == contact.id)
                              .order_by(ConsentRecord.id)).all()
    assert [(r.action.value, r.method, r.ip, r.user_agent) for r in records] == [
        ("granted", "form", "198.51.100.7", "ProofBrowser/1.0"),
        ("confirmed", "confirmation_link", "198.51.100.8", "ClickBrowser/2.0"),
    ]
    version = app.extensions["listserver.db"]  # noqa: F841
    assert records[0].form_version_id is not None and len(records[0].consent_text_hash) == 64
    assert all(r.created_at is not None for r in records)


def test_form_with_two_lists_records_a_pending_subscription_and_consent_for_each(app, submit, session):
    publish(app, {"slug": "two", "name": "Two lists", "lists": ["newsletter", "offers"]},
            lists=[{"key": "offers", "name": "Offers"}])
    assert submit("both@example-shop.net", slug="two").status_code == 200
    contact = contact_of(session, "both@example-shop.net")
    subscriptions = session.scalars(sa.select(Subscription).where(Subscription.contact_id == contact.id)).all()
    records = session.scalars(sa.select(ConsentRecord).where(ConsentRecord.contact_id == contact.id)).all()
    assert sorted(s.status.value for s in subscriptions) == ["pending", "pending"]
    assert sorted(r.list_id for r in records) == sorted(s.list_id for s in subscriptions)
    assert all(r.action.value == "granted" and r.method == "form" and len(r.consent_text_hash) == 64
               and r.created_at is not None for r in records)


def test_field_errors_keep_what_was_typed(client):
    page = client.post("/f/demo", data={"email": "not-an-address", "first_name": "R2-D2", "_ts": stamp(client)})
    assert page.status_code == 422
    assert 'value="not-an-address"' in page.text and 'value="R2-D2"' in page.text
    assert "This email address cannot work. An email address must have an @-sign." in page.text
    assert "Use letters, spaces, hyphens and apostrophes only." in page.text


def test_json_submission_answers_with_field_errors(client):
    answer = client.post("/f/demo", json={"email": "", "first_name": "<script>", "_ts": stamp(client)})
    assert answer.status_code == 422
    assert answer.json["status"] == "invalid"
    assert set(answer.json["errors"]) == {"email", "first_name"}


def test_typo_domain_gets_a_suggestion_before_anything_is_stored(client, session):
    page = client.post("/f/demo", data={"email": "anna@gmial.com", "_ts": stamp(client)})
    assert page.status_code == 422
    assert "Did you mean anna@gmail.com?" in page.text
    assert session.scalar(sa.select(sa.func.count(Contact.id))) == 0
    # Taking the suggestion signs up the corrected address.
    took = client.post("/f/demo", data={"email": "anna@gmial.com", "_use_suggestion": "anna@gmail.com",
                                        "_ts": stamp(client)})
    assert took.status_code == 200
    assert contact_of(session, "anna@gmail.com") is not None


def test_typo_suggestion_can_be_declined(client, session):
    kept = client.post("/f/demo", data={"email": "anna@gmial.com", "_email_checked": "anna@gmial.com",
                                        "_ts": stamp(client)})
    assert kept.status_code == 200
    assert contact_of(session, "anna@gmial.com") is not None


def test_resubmitting_while_pending_resends_within_the_daily_cap(app, make_app, deliver, inbox, session):
    capped = make_app(confirmations_per_day=3)
    client = capped.test_client()
    for _ in range(5):
        assert client.post("/f/demo", data={"email": "again@example-shop.net", "_ts": stamp(client)}).status_code == 200
    deliver(capped)
    assert len(inbox.to("again@example-shop.net")) == 3
    contact = contact_of(session, "again@example-shop.net")
    assert session.scalar(sa.select(sa.func.count(Subscription.id)).where(Subscription.contact_id == contact.id)) == 1


def test_already_subscribed_address_gets_the_same_answer_and_no_change(app, client, submit, deliver, inbox, session):
    submit("member@example-shop.net", first_name="Mia")
    deliver(app)
    client.post(inbox.link(inbox.to("member@example-shop.net")[0], "confirm"))
    before = contact_of(session, "member@example-shop.net")
    confirmed_at, subscriptions = before.confirmed_at, [(s.list_id, s.status) for s in before.subscriptions]

    again = submit("member@example-shop.net", first_name="Mallory")
    new = submit("newcomer@example-shop.net", first_name="Mallory")
    assert again.status_code == new.status_code == 200
    assert again.text == new.text

    session.expire_all()
    after = contact_of(session, "member@example-shop.net")
    assert after.status == ContactStatus.SUBSCRIBED
    assert after.attributes == {"first_name": "Mia"}
    assert after.confirmed_at == confirmed_at
    assert [(s.list_id, s.status) for s in after.subscriptions] == subscriptions
    deliver(app)
    kinds = [m["X-Listserver-Kind"] for m in inbox.to("member@example-shop.net")]
    assert sorted(kinds) == ["already_subscribed", "confirmation", "lead_magnet"]


def test_unreachable_dns_still_sends(make_app, deliver, inbox, session):
    app = make_app(dns_nameservers=("127.0.0.1:9",), dns_timeout=0.3)
    client = app.test_client()
    client.post("/f/demo", data={"email": "slowdns@example-shop.net", "_ts": stamp(client)})
    deliver(app)
    assert len(inbox.to("slowdns@example-shop.net")) == 1
    assert contact_of(session, "slowdns@example-shop.net").email_check == "unknown"


def test_business_only_form_rejects_free_mail(app, client, session):
    publish(app, {"slug": "b2b", "name": "B2B", "lists": ["newsletter"], "business_email_only": True})
    page = client.post("/f/b2b", data={"email": "boss@gmail.com", "_ts": stamp(client, "b2b")})
    assert page.status_code == 422 and "work email address" in page.text
    ok = client.post("/f/b2b", data={"email": "boss@acme-widgets.org", "_ts": stamp(client, "b2b")})
    assert ok.status_code == 200


def test_every_event_is_on_the_timeline(app, client, submit, deliver, inbox, session):
    submit("timeline@example-shop.net")
    deliver(app)
    client.post(inbox.link(inbox.to("timeline@example-shop.net")[0], "confirm"))
    contact = contact_of(session, "timeline@example-shop.net")
    kinds = session.scalars(sa.select(Event.kind).where(Event.contact_id == contact.id).order_by(Event.id)).all()
    assert kinds == ["submitted", "status_changed", "confirmed"]


def test_cli_shows_the_contact(app, runner, submit):
    submit("cli@example-shop.net", first_name="Ada")
    from flask.cli import ScriptInfo

    from listserver.cli import main

    result = runner.invoke(main, ["contacts", "show", "CLI@example-shop.net"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["status"] == "pending" and shown["attributes"] == {"first_name": "Ada"}
    assert shown["consent"][0]["action"] == "granted"
    assert re.fullmatch(r"[0-9a-f]{64}", shown["consent"][0]["consent_text_hash"])
