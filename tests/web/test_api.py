"""The API gives marketers' tools the same links as the export, behind bearer tokens."""

import sqlalchemy as sa
from flask.cli import ScriptInfo

from listserver.cli import main
from listserver.models import ApiToken


def make_token(app, runner):
    result = runner.invoke(main, ["tokens", "create", "crm"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def confirmed(app, client, submit, deliver, inbox, address):
    submit(address, first_name="Ines")
    deliver(app)
    client.post(inbox.link(inbox.to(address)[0], "confirm"))


def test_contacts_with_links_for_a_sending_tool(app, client, runner, submit, deliver, inbox, session):
    confirmed(app, client, submit, deliver, inbox, "api@example-shop.net")
    submit("pending@example-shop.net")
    token = make_token(app, runner)
    assert token.startswith("ls_")
    assert session.scalar(sa.select(ApiToken.token_hash)) != token  # only a hash is kept

    page = client.get("/api/v1/contacts?list=newsletter", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200
    [row] = page.json["contacts"]
    assert row["email"] == "api@example-shop.net" and row["first_name"] == "Ines"
    assert row["list_unsubscribe"] == f"<{row['unsubscribe_url']}>"
    assert page.json["next_after"] is None

    one = client.get("/api/v1/contacts/PENDING@example-shop.net", headers={"Authorization": f"Bearer {token}"})
    assert one.status_code == 200 and one.json["status"] == "pending"
    assert one.json["preferences_url"].startswith("http://127.0.0.1:5000/preferences/")


def test_requests_without_a_valid_token_are_refused(client):
    for headers in ({}, {"Authorization": "Bearer ls_wrong"}, {"Authorization": "Basic eDp5"}):
        answer = client.get("/api/v1/contacts", headers=headers)
        assert answer.status_code == 401 and answer.json["error"] == "unauthorized"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_list_and_bad_cursor_are_named(app, client, runner):
    auth = {"Authorization": f"Bearer {make_token(app, runner)}"}
    assert client.get("/api/v1/contacts?list=nope", headers=auth).json["error"] == "unknown_list"
    assert client.get("/api/v1/contacts?after=x", headers=auth).json["error"] == "invalid_parameter"
    assert client.get("/api/v1/contacts/nobody@example-shop.net", headers=auth).status_code == 404


def test_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.") and "/api/v1/contacts" in doc["paths"]
