"""A contact as each reader gets it: `contacts show`, the API, the CSV export and the person's own
download keep the names and order their users and tools rely on, though one serializer feeds them all."""

from __future__ import annotations

import csv
import io
import json

from tests.cli.test_cli import invoke
from tests.conftest import SUBSCRIBER
from tests.web.test_api import make_token

TIME = ("since", "confirmed_at", "unsubscribed_at")
CONSENT = ["action", "list_id", "method", "form_version_id", "consent_text_hash", "ip", "user_agent", "at"]
ROW = ["id", "email", "first_name", "last_name", "language", "frequency", "lists",
       "preferences_url", "unsubscribe_url", "list_unsubscribe", "list_unsubscribe_post"]


def test_contacts_show_keeps_its_fields(app, subscriber):
    shown = json.loads(invoke(app, "contacts", "show", SUBSCRIBER).output)
    assert list(shown) == ["email", "status", "email_check", "language", "created_at", "confirmed_at", "attributes",
                           "attribute_sources", "quality_flags", "subscriptions", "consent", "events"]
    assert shown["subscriptions"] == [{"list": "newsletter", "status": "active"},
                                      {"list": "offers", "status": "active"}]
    assert all(list(c) == CONSENT for c in shown["consent"]) and shown["consent"]
    assert all(list(e) == ["kind", "data", "at"] for e in shown["events"]) and shown["events"]


def test_the_api_and_the_export_keep_their_columns(app, client, runner, subscriber):
    auth = {"Authorization": f"Bearer {make_token(app, runner)}"}
    one = client.get(f"/api/v1/contacts/{SUBSCRIBER}", headers=auth).json
    assert set(one) == set(ROW) | {"status", "paused_until"}
    assert (one["first_name"], one["lists"], one["status"]) == ("Pia", "newsletter offers", "subscribed")
    [row] = client.get("/api/v1/contacts", headers=auth).json["contacts"]
    assert set(row) == set(ROW) and row["id"] == one["id"]
    exported = list(csv.reader(io.StringIO(invoke(app, "contacts", "export").output)))
    assert exported[0] == ROW and exported[1][1:4] == [SUBSCRIBER, "Pia", ""]


def test_the_download_keeps_its_fields(app, client, subscriber, deliver, inbox):
    token = subscriber["preferences"].rsplit("/", 1)[1]
    client.post(f"/preferences/{token}/data")
    deliver(app)
    data = json.loads(client.post(inbox.link(inbox.to(SUBSCRIBER)[0], "data")).data)
    assert list(data) == ["exported_at", "profile", "subscriptions", "consent_records", "events", "emails_sent"]
    assert list(data["profile"]) == ["email", "status", "language", "frequency", "paused_until", "created_at",
                                     "confirmed_at", "attributes", "attribute_sources"]
    assert [s["list"] for s in data["subscriptions"]] == ["The Monthly Letter", "Offers"]
    assert all(list(s) == ["list", "status", *TIME] for s in data["subscriptions"])
    assert all(list(c) == ["action", "list", "method", "form_version_id", "consent_text_sha256", "ip", "user_agent",
                           "at"] for c in data["consent_records"]) and data["consent_records"]
    assert data["consent_records"][0]["list"] == "The Monthly Letter"
    assert all(list(m) == ["kind", "status", "at"] for m in data["emails_sent"]) and data["emails_sent"]
