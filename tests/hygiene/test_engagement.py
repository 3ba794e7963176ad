"""Our own engagement signals keep the sunset away: confirming, saving in the preference center, a profiling
answer through a link we emailed. Looking is not engaging: mail scanners open every link."""

import sqlalchemy as sa

from listserver.contacts.links import Links
from listserver.models import Contact
from tests.conftest import SUBSCRIBER, contact_of, publish, stamp
from tests.hygiene.people import ago, changed, run_hygiene, set_columns

QUIZ = {"slug": "quiz", "name": "Quiz", "title": "A short quiz", "lists": ["newsletter"], "fields_per_view": 1,
        "fields": ["email", {"key": "first_name", "required": False}, {"key": "company", "required": False}]}


def engaged_lately(session, address: str) -> bool:
    return contact_of(session, address).last_engaged_at > ago(1 / 24)


def test_saving_in_the_preference_center_is_engagement_and_looking_is_not(app, client, subscriber, session):
    person = contact_of(session, SUBSCRIBER)
    token = subscriber["preferences"].rsplit("/", 1)[1]
    lists = [str(s.list_id) for s in person.subscriptions]
    saves = [(f"/preferences/{token}/topics", {"topic": lists, "frequency": "weekly"}),
             (f"/preferences/{token}/pause", {"months": "1"}),
             (f"/preferences/{token}/resume", {}),
             (f"/preferences/{token}/profile", {"first_name": "Pia"})]
    for path, form in saves:
        set_columns(app, [person.id], last_engaged_at=ago(300))
        assert client.get(subscriber["preferences"]).status_code == 200
        assert not engaged_lately(session, SUBSCRIBER)  # a scanner, or a glance: no sign of interest
        assert client.post(path, data=form).status_code == 303
        assert engaged_lately(session, SUBSCRIBER), path
    assert changed(run_hygiene(app))["sunset_ask"] == 0


def test_a_profiling_answer_through_an_emailed_link_is_engagement(app, client, session):
    publish(app, QUIZ)
    address = "quiz@example-shop.net"
    signed_up = client.post("/f/quiz", json={"email": address, "_ts": stamp(client, "quiz")})
    unproven = signed_up.json["profile_token"]  # what the script keeps: anyone can type any address
    client.post("/f/quiz", json={"profile_token": unproven, "_ts": stamp(client, "quiz"), "first_name": "Ola"})
    assert contact_of(session, address).attributes == {"first_name": "Ola"}
    assert contact_of(session, address).last_engaged_at is None

    proven = Links(app.config["SETTINGS"]).profile_token(contact_of(session, address), proven=True)
    saved = client.post("/f/quiz", json={"profile_token": proven, "_ts": stamp(client, "quiz"), "company": "Acme"})
    assert saved.status_code == 200 and saved.json["status"] == "saved"
    assert engaged_lately(session, address)
    assert session.scalar(sa.select(Contact.attributes).where(Contact.email_key == address)) == {
        "first_name": "Ola", "company": "Acme"}
