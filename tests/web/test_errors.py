"""The domain's refusals reach people and scripts through one mapping: a status per kind, the
error's code, and the field at fault."""

import pytest
from flask.cli import ScriptInfo

from listserver.accounts import users
from listserver.capture.signup import LinkUsed
from listserver.cli import main
from listserver.contacts.lifecycle import InvalidTransition
from listserver.contacts.links import LinkRevoked
from listserver.db import get_session
from listserver.errors import Conflict, Expired, Gone, Invalid, NotFound, TooMany
from listserver.forms.fields import FieldError
from listserver.forms.publishing import SpecError
from listserver.subscriber.preferences import NotConfirmed
from listserver.tokens import TokenExpired, TokenInvalid
from listserver.web.errors import status_of

PENDING = "waiting@example-shop.net"


@pytest.mark.parametrize(("error", "status"), [
    (TokenInvalid(), 404), (TokenExpired({}), 410), (LinkRevoked(), 410), (LinkUsed(None, None), 410),
    (InvalidTransition("pending -> inactive"), 409), (NotConfirmed(), 409), (SpecError("x"), 422),
    (FieldError("x"), 422), (NotFound("x"), 404), (Invalid("x", field="f"), 422), (Conflict(), 409),
    (Gone(), 410), (Expired(), 410), (TooMany(), 429),
])
def test_each_kind_of_refusal_has_one_status(error, status):
    assert status_of(error) == status


def test_an_api_call_for_an_unknown_list_is_a_named_404(app, client, runner):
    result = runner.invoke(main, ["tokens", "create", "crm"], obj=ScriptInfo(create_app=lambda: app))
    auth = {"Authorization": f"Bearer {result.output.strip()}"}
    answer = client.get("/api/v1/contacts?list=nope", headers=auth)
    assert answer.status_code == 404
    assert answer.json == {"error": "unknown_list", "message": "no list with key 'nope'"}


def pending_preferences_link(app, client, submit, deliver, inbox):
    submit(PENDING)
    client.post("/preferences/new-link", data={"email": PENDING})
    deliver(app)
    [mail] = [m for m in inbox.to(PENDING) if m["X-Listserver-Kind"] == "preferences_link"]
    return inbox.link(mail, "preferences")


def test_topics_before_confirming_is_a_409_page_or_json(app, client, submit, deliver, inbox):
    link = pending_preferences_link(app, client, submit, deliver, inbox)
    page = client.post(f"{link}/topics", data={"frequency": "monthly"})
    assert page.status_code == 409 and page.mimetype == "text/html"
    assert "Please confirm your address first" in page.text and "Open the confirmation email" in page.text
    script = client.post(f"{link}/topics", data={"frequency": "monthly"}, headers={"Accept": "application/json"})
    assert script.status_code == 409
    assert script.json == {"status": "error", "error": "not_confirmed", "message": (
        "Open the confirmation email we sent you; then you can choose topics here.")}


def test_an_invalid_value_names_its_field(make_app):
    app = make_app()

    @app.get("/short-password")
    def short_password():
        users.create_user(get_session(), "new@example-shop.net", "too short")
        return "created"

    client = app.test_client()
    script = client.get("/short-password", headers={"Accept": "application/json"})
    assert script.status_code == 422
    assert script.json["error"] == "invalid" and script.json["field"] == "password"
    page = client.get("/short-password")
    assert page.status_code == 422 and page.mimetype == "text/html" and "created" not in page.text
