"""Bad input that once reached a 500 or stuck: each gets a clear 4xx or field error, and nothing
stored half-way stays to break a page later."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
from email import message_from_bytes, policy
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa

from listserver.cli import embedded
from listserver.contacts.links import Links
from listserver.extensions import db
from listserver.models import Contact, OutboxMessage
from listserver.tokens import Purpose
from tests.cli.test_cli import invoke
from tests.conftest import SUBSCRIBER, contact_in, contact_of, stamp
from tests.web.test_api import make_token

NESTED_ARRAYS = "[" * 20_000 + "]" * 20_000  # 39 KB: deeper than the JSON parser's stack


@pytest.mark.parametrize("path", ["/f/demo", "/f/demo/next", "/f/demo/frame"])
def test_deeply_nested_json_is_a_400_with_a_reason(client, session, path):
    answer = client.post(path, data=NESTED_ARRAYS, content_type="application/json")
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json["error"] == "invalid_json"
    assert session.scalar(sa.select(sa.func.count(Contact.id))) == 0


def test_the_script_still_gets_its_questions_with_a_good_body(client):
    answer = client.post("/f/demo/next", json={"profile_token": None})
    assert answer.status_code == 200 and answer.json["fields"] == ["email", "first_name"]


def signed_up(client, address="anna@example-shop.net") -> str:
    """A visitor who signed up through the script; their profile token."""
    answer = client.post("/f/demo", json={"email": address, "_ts": stamp(client)})
    assert answer.json["status"] == "check_inbox", answer.json
    return answer.json["profile_token"]


def post_raw_json(client, body: dict):
    # json.dumps writes a lone surrogate as the escape "\ud800", as a script on another site can send it.
    return client.post("/f/demo", data=json.dumps(body), content_type="application/json")


def test_lone_surrogate_in_a_profiling_answer_is_a_field_error(client, session):
    token = signed_up(client)
    answer = post_raw_json(client, {"profile_token": token, "company": "Acme \ud800", "_ts": stamp(client)})
    assert answer.status_code == 422
    assert answer.json["errors"] == {"company": "This contains a broken character. Please type it again."}
    assert "company" not in contact_of(session, "anna@example-shop.net").attributes


@pytest.mark.parametrize("field, value", [("first_name", "An\ud800na"), ("email", "an\ud800na@example-shop.net")])
def test_lone_surrogate_at_sign_up_is_a_field_error(client, session, field, value):
    answers = {"email": "anna@example-shop.net", "first_name": "Anna", field: value, "_ts": stamp(client)}
    answer = post_raw_json(client, answers)
    assert answer.status_code == 422, answer.text
    assert answer.json["errors"] == {field: "This contains a broken character. Please type it again."}
    assert session.scalar(sa.select(sa.func.count(Contact.id))) == 0


def test_a_broken_character_stored_before_does_not_break_the_preference_page(app, client, session):
    signed_up(client)
    contact = contact_of(session, "anna@example-shop.net")
    # As the profiling step stored it before the field rules refused it.
    session.execute(sa.update(Contact).where(Contact.id == contact.id).values(
        attributes={"company": "Acme \ud800 Ltd"},
        attribute_sources={"company": {"source": "profiling", "at": "2026-11-30T10:00:00+00:00"}}))
    links = Links(app.config["SETTINGS"])
    page = client.get(path_of(links.preferences(contact)))
    assert page.status_code == 200
    assert 'value="Acme \ufffd Ltd"' in page.text
    data = client.post(path_of(links.data_rights(contact, Purpose.DATA_EXPORT)))
    assert data.status_code == 200 and data.json["profile"]["attributes"] == {"company": "Acme \ufffd Ltd"}


def path_of(url: str) -> str:
    return url.split("5000", 1)[1]


@pytest.mark.parametrize("months", ["²", "٣", "3.0", "9" * 5000, ""])
def test_a_pause_of_odd_digits_is_a_400_and_pauses_nothing(client, subscriber, session, months):
    token = subscriber["preferences"].rsplit("/", 1)[1]
    answer = client.post(f"/preferences/{token}/pause", data={"months": months})
    assert answer.status_code == 400 and "could not be understood" in answer.text
    assert contact_of(session, SUBSCRIBER).paused_until is None


def test_odd_digits_among_topics_are_ignored_not_a_500(client, subscriber, session):
    token = subscriber["preferences"].rsplit("/", 1)[1]
    newsletter = next(s.list_id for s in contact_of(session, SUBSCRIBER).subscriptions
                      if s.mailing_list.key == "newsletter")
    saved = client.post(f"/preferences/{token}/topics", data={"topic": ["²", "9" * 5000, str(newsletter)]})
    assert saved.status_code == 303
    active = {s.mailing_list.key for s in contact_of(session, SUBSCRIBER).subscriptions if s.status.value == "active"}
    assert active == {"newsletter"}


@pytest.mark.parametrize("after", ["²", "١٢", "9" * 5000, "-1"])
def test_an_api_cursor_of_odd_digits_is_a_400_naming_it(app, client, runner, after):
    auth = {"Authorization": f"Bearer {make_token(app, runner)}"}
    answer = client.get(f"/api/v1/contacts?after={after}", headers=auth)
    assert answer.status_code == 400 and answer.json["error"] == "invalid_parameter"
    assert "'after'" in answer.json["message"]


def post_chunked(base_url: str, path: str, content_type: str, body: bytes, *, framed: bool = False) -> tuple[int, dict]:
    """POST with Transfer-Encoding: chunked and no Content-Length, from a raw socket, as a script can;
    the status and JSON answer. The test client always sends a length, so this needs a real server.
    With `framed`, the body is sent as it is, chunk framing included."""
    address = urlsplit(base_url)
    sock = socket.create_connection((address.hostname, address.port), timeout=30)

    def send():
        try:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: {content_type}\r\n"
                         "Accept: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
            if framed:
                sock.sendall(body)
                return
            for start in range(0, len(body), 16 * 1024):
                chunk = body[start:start + 16 * 1024]
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before taking all of it; its answer is what counts

    sender = threading.Thread(target=send)
    sender.start()
    try:
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, json.loads(answer.read())
    finally:
        sock.close()
        sender.join()


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
def test_a_chunked_body_over_the_limit_is_a_413_not_its_first_64_kb(live_server, client, content_type):
    live, base_url = live_server
    padding = "a" * 10_000_000
    if content_type == "application/json":
        body = json.dumps({"email": "big@example-shop.net", "first_name": "Anna", "_ts": stamp(client)}).encode()
        body += b" " * 10_000_000  # whitespace after the document: the first 64 KB parse as a whole sign-up
    else:
        body = f"email=big%40example-shop.net&first_name=Anna&_ts={stamp(client)}&x={padding}".encode()
    status, answer = post_chunked(base_url, "/f/demo", content_type, body)
    assert status == 413 and answer["error"] == "request_entity_too_large"
    assert contact_in(live, "big@example-shop.net") is None


def test_a_broken_chunk_is_a_400(live_server, client):
    live, base_url = live_server
    body = f"email=broken%40example-shop.net&_ts={stamp(client)}".encode()
    status, answer = post_chunked(base_url, "/f/demo", "application/x-www-form-urlencoded",
                                  b"%x\r\n%s\r\nzz\r\n" % (len(body), body), framed=True)
    assert status == 400 and answer["error"] == "bad_request"
    assert contact_in(live, "broken@example-shop.net") is None


def test_a_chunked_body_within_the_limit_is_taken(live_server, client):
    live, base_url = live_server
    body = f"email=small%40example-shop.net&first_name=Anna&_ts={stamp(client)}".encode()
    status, answer = post_chunked(base_url, "/f/demo", "application/x-www-form-urlencoded", body)
    assert status == 200 and answer["status"] == "check_inbox"
    assert contact_in(live, "small@example-shop.net").attributes == {"first_name": "Anna"}


SIGNED_UP_AS = "zoë@bücher.example"  # as sign-up got it: composed ë, Unicode domain
TYPED_LATER = ["zoe\u0308@xn--bcher-kva.example",  # decomposed ë (NFD, as macOS keyboards give it), punycode
               "ZOË@XN--BCHER-KVA.EXAMPLE", "zoe\u0308@bücher.example"]


@pytest.fixture
def zoe(client, submit, session):
    assert submit(SIGNED_UP_AS).status_code == 200
    contact = session.scalar(sa.select(Contact))
    assert contact is not None and contact.email == SIGNED_UP_AS
    return contact


def links_emailed(session, contact) -> int:
    return session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(
        OutboxMessage.contact_id == contact.id, OutboxMessage.kind == "preferences_link"))


@pytest.mark.parametrize("typed", TYPED_LATER)
def test_email_me_a_new_link_finds_the_address_however_it_is_typed(client, session, zoe, typed):
    answer = client.post("/preferences/new-link", data={"email": typed})
    assert answer.status_code == 200 and "a new link is on its way" in answer.text
    assert links_emailed(session, zoe) == 1


@pytest.mark.parametrize("typed", TYPED_LATER)
def test_the_cli_finds_the_address_however_it_is_typed(app, session, zoe, typed):
    links_before = zoe.link_version
    shown = invoke(app, "contacts", "show", typed)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["email"] == SIGNED_UP_AS
    revoked = invoke(app, "contacts", "revoke-links", typed)
    assert revoked.exit_code == 0, revoked.output
    session.expire_all()
    assert session.get(Contact, zoe.id).link_version == links_before + 1


@pytest.mark.parametrize("typed", TYPED_LATER)
def test_the_api_finds_the_address_however_it_is_typed(app, client, runner, zoe, typed):
    auth = {"Authorization": f"Bearer {make_token(app, runner)}"}
    answer = client.get(f"/api/v1/contacts/{quote(typed)}", headers=auth)
    assert answer.status_code == 200 and answer.json["id"] == zoe.id


def mailbox(directory) -> list:
    """The emails the embedded mailbox kept, parsed."""
    return [message_from_bytes(path.read_bytes(), policy=policy.default) for path in sorted(directory.glob("*.eml"))]


def link_in(message, path: str) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"https?://\S+(/{path}/\S+)", text).group(1)


def test_erasure_deletes_the_persons_emails_from_the_embedded_mailbox(make_app, deliver):
    app = make_app(smtp_host="")  # no relay: every email is kept as an .eml file
    with app.app_context(), db.session() as db_session:
        embedded.ensure_demo(db_session)
    client, directory = app.test_client(), app.config["SETTINGS"].mail_dir
    for address in ("erase-me@example-shop.net", "stays@example-shop.net"):
        client.post("/f/demo", data={"email": address, "first_name": "Anna", "_ts": stamp(client)})
    deliver(app)

    def to(address, kind=None):
        return [m for m in mailbox(directory) if m["To"] == address and kind in (None, m["X-Listserver-Kind"])]

    [confirmation] = to("erase-me@example-shop.net", "confirmation")
    client.post(link_in(confirmation, "confirm"))
    deliver(app)
    [magnet] = to("erase-me@example-shop.net", "lead_magnet")
    assert client.post(f"{link_in(magnet, 'preferences')}/erase").status_code == 303
    deliver(app)
    [request] = to("erase-me@example-shop.net", "erase_request")

    erased = client.post(link_in(request, "erase"))
    assert erased.status_code == 200 and "Your data is erased" in erased.text
    assert to("erase-me@example-shop.net") == []
    assert not any("erase-me" in path.name or path.suffix == ".tmp" for path in directory.iterdir())
    assert [m["X-Listserver-Kind"] for m in to("stays@example-shop.net")] == ["confirmation"]


SPRING = {"slug": "spring", "name": "Spring sale", "lists": ["newsletter"], "fields": ["email", "company"],
          "lead_magnet": {"title": "10 % off", "url": "https://shop.example-shop.net/coupon"},
          "profile_magnets": [{"after": ["company"], "title": "Price list", "url": "/static/demo/checklist.html"}],
          "site_url": "https://shop.example-shop.net/spring"}
BAD_LINKS = ["javascript:alert(document.cookie)", " JavaScript:alert(1)", "java\tscript:alert(1)",
             "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "vbscript:msgbox(1)",
             "coupon.pdf", "www.shop.example-shop.net/coupon", "//evil.example/coupon", "/\\evil.example/coupon",
             "https://", "ftp://shop.example-shop.net/coupon"]


def with_link(where: str, url: str) -> dict:
    if where == "lead_magnet.url":
        return {**SPRING, "lead_magnet": {**SPRING["lead_magnet"], "url": url}}
    if where == "profile_magnets[0].url":
        return {**SPRING, "profile_magnets": [{**SPRING["profile_magnets"][0], "url": url}]}
    return {**SPRING, where: url}


@pytest.mark.parametrize("where", ["lead_magnet.url", "profile_magnets[0].url", "site_url", "privacy_url"])
@pytest.mark.parametrize("url", BAD_LINKS)
def test_forms_create_refuses_links_that_are_not_web_addresses(app, client, tmp_path, where, url):
    (tmp_path / "form.json").write_text(json.dumps(with_link(where, url)))
    result = invoke(app, "forms", "create", str(tmp_path / "form.json"))
    assert result.exit_code != 0 and f"'{where}' must be a web address starting with https://" in result.output
    assert client.get("/f/spring").status_code == 404  # nothing published


def test_forms_create_takes_web_addresses_and_paths_here(app, client, tmp_path):
    (tmp_path / "form.json").write_text(json.dumps({**SPRING, "privacy_url": "http://shop.example-shop.net/privacy"}))
    result = invoke(app, "forms", "create", str(tmp_path / "form.json"))
    assert result.exit_code == 0, result.output
    assert 'href="http://shop.example-shop.net/privacy"' in client.get("/f/spring").text


@pytest.mark.parametrize("per_view", ["²", "two", 1.5, -1])
def test_forms_create_names_a_fields_per_view_that_is_not_a_whole_number(app, tmp_path, per_view):
    (tmp_path / "form.json").write_text(json.dumps({**SPRING, "fields_per_view": per_view}))
    result = invoke(app, "forms", "create", str(tmp_path / "form.json"))
    assert result.exit_code == 1 and "'fields_per_view' must be a whole number" in result.output
