"""Preference center, one-click unsubscribe (RFC 8058) and the subscriber's data rights."""

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from listserver.bounces import intake
from listserver.contacts import lifecycle, queries
from listserver.contacts.links import Links
from listserver.extensions import db
from listserver.models import (
    AuditEntry,
    ConsentMethod,
    ConsentRecord,
    Contact,
    DeliveryReport,
    EmailKind,
    Event,
    OutboxMessage,
    ReportSource,
    Subscription,
    Suppression,
)
from listserver.subscriber import preferences
from listserver.tokens import Purpose, Signer
from tests.conftest import SUBSCRIBER, contact_of, publish, stamp

ADDRESS = SUBSCRIBER


def contact(session):
    return contact_of(session, ADDRESS)


def statuses(session):
    c = contact(session)
    return c.status.value, sorted(s.status.value for s in c.subscriptions)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_one_click_unsubscribe_rfc8058(app, subscriber, session, encoding):
    client = app.test_client(use_cookies=False)
    url = subscriber["unsubscribe"]
    kwargs = ({"data": {"List-Unsubscribe": "One-Click"}} if encoding == "urlencoded" else
              {"data": {"List-Unsubscribe": "One-Click"}, "content_type": "multipart/form-data"})
    answer = client.post(url, **kwargs)
    assert answer.status_code == 200 and "Location" not in answer.headers
    assert "Set-Cookie" not in answer.headers
    assert statuses(session) == ("unsubscribed", ["unsubscribed", "unsubscribed"])
    assert session.scalar(sa.select(sa.func.count(Suppression.id))) == 1
    again = client.post(url, **kwargs)
    # the page links to a freshly signed preference link, so only that token may differ
    same_page = [re.sub(r"/preferences/[^\"]+", "/preferences/TOKEN", r.text) for r in (answer, again)]
    assert again.status_code == 200 and same_page[0] == same_page[1]
    withdrawn = session.scalars(sa.select(ConsentRecord.method).where(ConsentRecord.action == "withdrawn")).all()
    assert withdrawn == ["one_click", "one_click"]


def test_unsubscribe_page_never_unsubscribes_by_itself(app, subscriber, session):
    client = app.test_client()
    page = client.get(subscriber["unsubscribe"])
    assert page.status_code == 200 and "Unsubscribe" in page.text and "Change your preferences instead" in page.text
    assert client.head(subscriber["unsubscribe"]).status_code == 200
    assert statuses(session) == ("subscribed", ["active", "active"])


def test_unsubscribe_from_one_list_keeps_the_other(app, client, subscriber, session):
    c = contact(session)
    offers = next(s.list_id for s in c.subscriptions if s.mailing_list.key == "offers")
    url = Links(app.config["SETTINGS"]).unsubscribe(c, offers).split("5000", 1)[1]
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert statuses(session) == ("subscribed", ["active", "unsubscribed"])


def test_concurrent_clicks_leave_one_consistent_state(app, subscriber, session):
    def click(_):
        return app.test_client().post(subscriber["unsubscribe"], data={"List-Unsubscribe": "One-Click"}).status_code

    with ThreadPoolExecutor(10) as pool:
        assert set(pool.map(click, range(10))) == {200}
    assert statuses(session) == ("unsubscribed", ["unsubscribed", "unsubscribed"])
    assert session.scalar(sa.select(sa.func.count(ConsentRecord.id)).where(ConsentRecord.action == "withdrawn")) == 2
    assert session.scalar(sa.select(sa.func.count(Suppression.id))) == 1


def test_bad_tokens_get_a_friendly_page_and_change_nothing(app, make_app, client, subscriber, session):
    c = contact(session)
    signer = Signer(app.config["SETTINGS"])
    tampered = subscriber["unsubscribe"][:-3] + "xyz"
    wrong_purpose = "/unsubscribe/" + subscriber["preferences"].rsplit("/", 1)[1]
    as_preferences = "/preferences/" + signer.sign(Purpose.UNSUBSCRIBE, {"c": c.id, "v": 1})
    attempts = [(client.get, tampered), (client.post, tampered), (client.get, wrong_purpose),
                (client.post, wrong_purpose), (client.get, as_preferences),
                (client.post, as_preferences + "/unsubscribe"), (client.post, as_preferences + "/erase")]
    for method, url in attempts:
        answer = method(url, data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 404 and "This link does not work" in answer.text
        assert 'name="email"' in answer.text  # offers a fresh link
    expired = make_app(preferences_token_days=-1).test_client()
    assert expired.post(subscriber["unsubscribe"], data={"List-Unsubscribe": "One-Click"}).status_code == 410
    assert statuses(session) == ("subscribed", ["active", "active"])


def test_revoked_links_stop_working(app, client, subscriber, session, runner):
    from flask.cli import ScriptInfo

    from listserver.cli import main

    result = runner.invoke(main, ["contacts", "revoke-links", ADDRESS], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    assert client.get(subscriber["preferences"]).status_code == 410
    assert client.post(subscriber["unsubscribe"], data={"List-Unsubscribe": "One-Click"}).status_code == 410
    assert statuses(session) == ("subscribed", ["active", "active"])


def test_one_click_for_an_erased_contact_is_a_quiet_200(app, client, subscriber, session):
    rights_link = Links(app.config["SETTINGS"]).data_rights(contact(session), Purpose.ERASE).split("5000", 1)[1]
    assert client.post(rights_link).status_code == 200
    answer = client.post(subscriber["unsubscribe"], data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and ADDRESS not in answer.text and "Pia" not in answer.text
    assert session.scalar(sa.select(sa.func.count(Contact.id))) == 0


def test_preference_center_topics_frequency_pause_and_profile(app, client, subscriber, session):
    page = client.get(subscriber["preferences"])
    assert page.status_code == 200
    assert "p•••@example-shop.net" in page.text and ADDRESS not in page.text
    assert "Discounts, twice a month." in page.text
    newsletter = next(s.list_id for s in contact(session).subscriptions if s.mailing_list.key == "newsletter")

    token = subscriber["preferences"].rsplit("/", 1)[1]
    saved = client.post(f"/preferences/{token}/topics", data={"topic": [str(newsletter)], "frequency": "monthly"})
    assert saved.status_code == 303
    assert "Your topics and frequency are saved." in client.get(saved.headers["Location"]).text
    c = contact(session)
    assert c.frequency.value == "monthly"
    assert statuses(session) == ("subscribed", ["active", "unsubscribed"])

    client.post(f"/preferences/{token}/pause", data={"months": "3"})
    assert 85 <= (contact(session).paused_until - c.created_at).days <= 95
    client.post(f"/preferences/{token}/resume")
    assert contact(session).paused_until is None

    bad = client.post(f"/preferences/{token}/profile", data={"first_name": "<img src=x onerror=alert(1)>"})
    assert bad.status_code == 422 and "Angle brackets" in bad.text and "<img src=x" not in bad.text
    assert contact(session).attributes["first_name"] == "Pia"
    client.post(f"/preferences/{token}/profile", data={"first_name": "Pia-Maria"})
    c = contact(session)
    assert c.attributes["first_name"] == "Pia-Maria"
    assert c.attribute_sources["first_name"]["source"] == "preference_center"

    actions = session.scalars(sa.select(ConsentRecord.action).where(ConsentRecord.method == "preference_center")
                              .order_by(ConsentRecord.id)).all()
    assert [a.value for a in actions] == ["withdrawn", "paused", "resumed"]
    kinds = session.scalars(sa.select(Event.kind).where(Event.contact_id == c.id).order_by(Event.id)).all()
    assert kinds[-5:] == ["unsubscribed", "frequency_changed", "paused", "resumed", "profile_updated"]


def test_unsubscribe_everything_from_the_preference_center(client, subscriber, session):
    token = subscriber["preferences"].rsplit("/", 1)[1]
    answer = client.post(f"/preferences/{token}/unsubscribe")
    assert answer.status_code == 200 and "You will not receive any of our emails any more." in answer.text
    assert statuses(session) == ("unsubscribed", ["unsubscribed", "unsubscribed"])


def test_rejoining_after_unsubscribing_takes_a_new_double_opt_in(app, client, subscriber, submit, deliver, inbox,
                                                                  session):
    client.post(subscriber["unsubscribe"], data={"List-Unsubscribe": "One-Click"})
    submit(ADDRESS)
    assert statuses(session) == ("unsubscribed", ["pending", "pending"])
    deliver(app)
    client.post(inbox.link(inbox.to(ADDRESS)[0], "confirm"))
    assert statuses(session) == ("subscribed", ["active", "active"])
    assert session.scalar(sa.select(sa.func.count(Suppression.id))) == 0


def test_fresh_link_page_answers_the_same_for_known_and_unknown(app, client, subscriber, deliver, inbox):
    known = client.post("/preferences/new-link", data={"email": ADDRESS.upper()})
    unknown = client.post("/preferences/new-link", data={"email": "stranger@example-shop.net"})
    assert known.status_code == unknown.status_code == 200 and known.text == unknown.text
    deliver(app)
    [mail] = inbox.to(ADDRESS)
    assert mail["X-Listserver-Kind"] == "preferences_link"
    assert client.get(inbox.link(mail, "preferences")).status_code == 200
    assert inbox.to("stranger@example-shop.net") == []


def test_download_my_data_goes_through_the_mailbox(app, client, subscriber, deliver, inbox):
    token = subscriber["preferences"].rsplit("/", 1)[1]
    assert client.post(f"/preferences/{token}/data").status_code == 303
    deliver(app)
    [mail] = inbox.to(ADDRESS)
    link = inbox.link(mail, "data")
    assert "Download my data" in client.get(link).text
    download = client.post(link)
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    data = json.loads(download.data)
    assert data["profile"]["email"] == ADDRESS and data["profile"]["attributes"] == {"first_name": "Pia"}
    assert {s["status"] for s in data["subscriptions"]} == {"active"}
    assert [c["action"] for c in data["consent_records"]][:2] == ["granted", "granted"]
    assert "confirmed" in [e["kind"] for e in data["events"]]
    # A preference link alone cannot take the data.
    assert client.post("/data/" + token).status_code == 404


def test_erase_me_goes_through_the_mailbox_and_leaves_only_a_hash(app, client, subscriber, deliver, inbox, session):
    token = subscriber["preferences"].rsplit("/", 1)[1]
    client.post(f"/preferences/{token}/erase")
    assert contact(session) is not None  # nothing happens before the emailed link is used
    deliver(app)
    link = inbox.link(inbox.to(ADDRESS)[0], "erase")
    assert "Erase everything" in client.get(link).text
    assert client.post(link).status_code == 200
    assert session.scalar(sa.select(sa.func.count(Contact.id))) == 0
    assert session.scalar(sa.select(sa.func.count(Subscription.id))) == 0
    assert session.scalar(sa.select(sa.func.count(Event.id)).where(Event.contact_id.is_not(None))) == 0
    assert session.scalars(sa.select(ConsentRecord.ip)).all() == [None] * 4
    assert session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    [suppression] = session.scalars(sa.select(Suppression)).all()
    assert suppression.reason == "erased" and ADDRESS not in suppression.email_hash
    [audit] = session.scalars(sa.select(AuditEntry)).all()
    assert audit.action == "contact_erased" and ADDRESS not in json.dumps(audit.detail)
    # The link is spent, and the preference link leads nowhere now.
    assert client.post(link).status_code == 404
    assert client.get(subscriber["preferences"]).status_code == 404


def test_erase_me_forgets_the_raw_delivery_reports_that_name_the_address(app, client, subscriber, deliver, inbox,
                                                                         session, process_reports):
    with app.app_context(), db.session() as s:  # a provider's report about the person, as the hook stores it
        event = {"type": "delivery", "email": ADDRESS, "timestamp": "2026-03-01T12:00:00Z"}
        intake.receive(s, [intake.Arrival(ReportSource.WEBHOOK, "delivered-1", json.dumps(event))])
        s.commit()
    process_reports(app)
    assert session.scalar(sa.select(DeliveryReport.contact_id)) == contact(session).id
    token = subscriber["preferences"].rsplit("/", 1)[1]
    client.post(f"/preferences/{token}/erase")
    deliver(app)
    assert client.post(inbox.link(inbox.to(ADDRESS)[0], "erase")).status_code == 200
    [report] = session.scalars(sa.select(DeliveryReport)).all()
    assert report.kind == "delivery" and report.contact_id is None
    assert ADDRESS not in (report.raw or "")


def test_every_email_has_list_unsubscribe_headers(app, subscriber, client, deliver, inbox):
    token = subscriber["preferences"].rsplit("/", 1)[1]
    client.post(f"/preferences/{token}/data")
    deliver(app)
    for mail in inbox.to(ADDRESS):
        assert mail["List-Unsubscribe"].startswith("<http://127.0.0.1:5000/unsubscribe/")
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_export_gives_marketers_the_links_and_leaves_paused_contacts_out(app, client, subscriber, session, runner):
    import csv
    import io

    from flask.cli import ScriptInfo

    from listserver.cli import main

    def export(*args):
        result = runner.invoke(main, ["contacts", "export", *args], obj=ScriptInfo(create_app=lambda: app))
        assert result.exit_code == 0, result.output
        return list(csv.DictReader(io.StringIO(result.output)))

    [row] = export("--list", "offers")
    assert row["email"] == ADDRESS and row["first_name"] == "Pia" and row["lists"] == "newsletter offers"
    assert row["list_unsubscribe"] == f"<{row['unsubscribe_url']}>"
    assert row["list_unsubscribe_post"] == "List-Unsubscribe=One-Click"
    # The exported link works from any sending tool, for that list only.
    path = row["unsubscribe_url"].split("5000", 1)[1]
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert statuses(session) == ("subscribed", ["active", "unsubscribed"])
    assert client.get(row["preferences_url"].split("5000", 1)[1]).status_code == 200

    token = subscriber["preferences"].rsplit("/", 1)[1]
    client.post(f"/preferences/{token}/pause", data={"months": "1"})
    assert export() == []
    client.post(f"/preferences/{token}/resume")
    assert len(export()) == 1
    assert session.scalars(sa.select(AuditEntry.action)).all() == ["export"] * 3


def test_a_failed_profile_save_says_so_at_the_top(app, client, subscriber, session):
    page = client.post(subscriber["preferences"] + "/profile", data={"first_name": "<b>Pia</b>"})
    assert page.status_code == 422
    alert = page.text.index('role="alert"')
    assert alert < page.text.index('id="details"')  # seen first on a phone, and it links to the field
    assert 'href="#details"' in page.text and "&lt;b&gt;Pia&lt;/b&gt;" in page.text
    assert contact(session).attributes["first_name"] == "Pia"


def test_multi_choice_answers_can_be_changed_and_cleared(app, client, session):
    publish(app, {"slug": "quiz", "lists": ["newsletter"], "fields": [
        "email", {"key": "interests", "type": "multi_select", "label": "Interests",
                  "rules": {"choices": [{"value": "seo", "label": "SEO"}, {"value": "ads", "label": "Ads"}]}}]})
    client.post("/f/quiz", data={"email": ADDRESS, "interests": ["seo", "ads"], "_ts": stamp(client, "quiz")})
    person = contact(session)
    url = Links(app.config["SETTINGS"]).preferences(person).split("5000", 1)[1]
    form = client.get(url).text
    assert 'type="checkbox" name="interests" value="seo" checked' in form and "<legend>Interests" in form
    client.post(url + "/profile", data={"interests": "ads"})
    assert contact(session).attributes["interests"] == ["ads"]
    client.post(url + "/profile", data={})
    assert "interests" not in contact(session).attributes


def test_several_preference_changes_are_one_unit_of_work_that_the_caller_commits_or_drops(app, subscriber, session):
    def change_everything(s):
        person = queries.find_contact(s, ADDRESS)
        proof = lifecycle.Proof(ConsentMethod.PREFERENCE_CENTER, "198.51.100.7", "Firefox/140")
        preferences.save_topics(s, person, set(), "monthly", proof)
        preferences.pause(s, person, 1, proof)
        assert preferences.save_profile(s, person, {"first_name": "Pina"}) == {}
        assert preferences.send_link(s, person, EmailKind.DATA_EXPORT)

    def outcome():
        c = contact(session)
        return (c.frequency.value, c.paused_until is not None, c.attributes["first_name"], statuses(session)[1],
                session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(OutboxMessage.kind == "data_export")))

    with app.app_context(), db.session() as s:
        change_everything(s)
        s.rollback()  # the caller drops the unit of work: none of the four changes stays
    assert outcome() == ("all", False, "Pia", ["active", "active"], 0)
    with app.app_context(), db.session() as s:
        change_everything(s)
        s.commit()
    assert outcome() == ("monthly", True, "Pina", ["unsubscribed", "unsubscribed"], 1)
