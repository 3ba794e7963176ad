"""The console as each role sees it, its sessions and sign-in limits, and the security headers of every page."""

from __future__ import annotations

import itertools
import re
import secrets

import pytest
import sqlalchemy as sa
from flask.cli import ScriptInfo

from listserver.accounts import users
from listserver.cli import embedded, main
from listserver.contacts.links import Links
from listserver.extensions import db
from listserver.models import OutboxMessage
from listserver.models import Role
from tests.chromium import expect
from tests.conftest import REDIS_URL, contact_of

PASSWORD = "correct horse battery staple"
SUBSCRIBER = "anna.berg@example-shop.net"
_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


def next_ip() -> str:
    """Another client address, so the per-IP sign-in limit stays out of a test's way."""
    return next(_addresses)


@pytest.fixture
def app(make_app):
    """The embedded mailbox (no SMTP relay): the console shows the copies it keeps."""
    app = make_app(smtp_host="")
    with app.app_context(), db.session() as session:
        embedded.ensure_demo(session)
        for role in Role:
            users.create_user(session, f"{role}@example-shop.net", PASSWORD, role)
        session.commit()
    return app


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]* value="([^"]+)"', page).group(1)


def console_csrf(client) -> str:
    return csrf_token(client.get("/admin/").text)


def sign_in(client, email: str, password: str = PASSWORD, next_url: str | None = None, ip: str | None = None):
    ip = ip or next_ip()
    token = csrf_token(client.get("/admin/login", environ_base={"REMOTE_ADDR": ip}).text)
    query = {"next": next_url} if next_url is not None else {}
    return client.post("/admin/login", query_string=query, environ_base={"REMOTE_ADDR": ip},
                       data={"csrf_token": token, "email": email, "password": password})


def signed_in(app, role: str):
    client = app.test_client()
    assert sign_in(client, f"{role}@example-shop.net").status_code == 302
    return client


# One fixture per console role (flaskr's `auth`, once per role).
@pytest.fixture
def admin(app):
    return signed_in(app, "admin")


@pytest.fixture
def marketer(app):
    return signed_in(app, "marketer")


@pytest.fixture
def viewer(app):
    return signed_in(app, "viewer")


@pytest.fixture
def sent(app, submit, deliver, session) -> OutboxMessage:
    """A confirmation email to a subscriber, delivered to the embedded mailbox."""
    assert submit(SUBSCRIBER, first_name="Anna").status_code == 200
    deliver(app)
    return session.scalar(sa.select(OutboxMessage).where(OutboxMessage.recipient == SUBSCRIBER))


def mailbox_copy(app, message: OutboxMessage) -> str:
    directory = app.config["SETTINGS"].mail_dir
    return next(directory.glob(f"{message.idempotency_key}.{message.id}@*.eml")).read_text()


def links_in(raw_email: str) -> set[str]:
    """Every link to listserver in the email: each carries a token (confirm, preferences, unsubscribe)."""
    unfolded = re.sub(r"=\r?\n", "", raw_email)  # quoted-printable soft line breaks
    return set(re.findall(r"http://127\.0\.0\.1:5000/(?:confirm|preferences|unsubscribe|data|erase)/[\w.-]+",
                          unfolded))


def console_endpoints(app):
    return sorted((rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")),
                  key=lambda rule: (rule.endpoint == "admin.logout", rule.rule))  # sign out last


@pytest.mark.parametrize("role", list(Role))
def test_every_console_route_asks_for_a_signed_in_user_with_the_right_role(app, role, request, sent):
    """A route added without the console decorator fails here: anyone could open it."""
    client = request.getfixturevalue(role)
    endpoints = console_endpoints(app)
    assert {"admin.home", "admin.outbox", "admin.outbox_message", "admin.outbox_message_html",
            "admin.logout"} <= {rule.endpoint for rule in endpoints}
    stranger = app.test_client()  # not signed in, but with a CSRF token of its own, so a POST gets through it
    tokens = {client: console_csrf(client), stranger: csrf_token(stranger.get("/admin/login").text)}
    for rule in endpoints:
        if rule.endpoint == "admin.login":
            continue
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "console_roles"), f"{rule.endpoint} does not pass through admin.console()"
        url = rule.build({"message_id": sent.id}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answer = stranger.open(url, method=method, data={"csrf_token": tokens[stranger]})
            assert answer.status_code == 302 and "/admin/login" in answer.location, f"{method} {url} is open"
            answer = client.open(url, method=method, data={"csrf_token": tokens[client]})
            if role not in view.console_roles:
                assert answer.status_code == 403, f"{role} reaches {method} {url}"
            elif method == "GET":
                assert answer.status_code == 200, f"{role} is turned away from {url}"
            else:  # signing out: a redirect, and the console is closed afterwards
                assert answer.status_code == 302 and rule.endpoint == "admin.logout"
                assert "/admin/login" in client.get("/admin/").location


def test_a_viewer_sees_masked_addresses_and_no_live_links(app, viewer, marketer, sent):
    live_links = links_in(mailbox_copy(app, sent))
    assert any("/confirm/" in link for link in live_links) and any("/unsubscribe/" in link for link in live_links)
    tokens = {link.rsplit("/", 1)[1] for link in live_links}

    listing = viewer.get("/admin/outbox").text
    assert "an***@e***.net" in listing and SUBSCRIBER not in listing
    assert "an***@e***.net" in viewer.get(f"/admin/outbox/{sent.id}").text
    for url in (f"/admin/outbox/{sent.id}", f"/admin/outbox/{sent.id}/html"):
        page = viewer.get(url)
        assert page.status_code == 200
        assert SUBSCRIBER not in page.text and "Hello Anna" in page.text
        assert "[link hidden]" in page.text
        assert not any(token in page.text for token in tokens), f"a viewer gets a live link on {url}"
        assert not re.search(r"/(confirm|preferences|unsubscribe|data|erase)/", page.text)

    # A marketer sees the email as it was sent, and its confirmation link works.
    page = marketer.get(f"/admin/outbox/{sent.id}").text
    assert SUBSCRIBER in page
    confirm = next(link for link in live_links if "/confirm/" in link)
    assert confirm.replace("&amp;", "&") in page.replace("&amp;", "&")
    assert app.test_client().get(confirm.removeprefix("http://127.0.0.1:5000")).status_code == 200


def copy_of_cookie(app, client):
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_a_copied_session_cookie_stops_working_after_sign_out(app, admin):
    thief = copy_of_cookie(app, admin)
    assert thief.get("/admin/outbox").status_code == 200  # the copy works while the session lives
    assert admin.post("/admin/logout", data={"csrf_token": console_csrf(admin)}).status_code == 302
    for client in (admin, thief):
        answer = client.get("/admin/outbox")
        assert answer.status_code == 302 and "/admin/login" in answer.location


def invoke(app, *args, input=None):
    return app.test_cli_runner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app), input=input)


def test_a_new_password_ends_every_session_of_the_user(app, admin, marketer):
    thief = copy_of_cookie(app, admin)
    result = invoke(app, "users", "set-password", "admin@example-shop.net",
                    input="a brand new passphrase\na brand new passphrase\n")
    assert result.exit_code == 0, result.output
    assert "sessions have ended" in result.output
    for client in (admin, thief):
        answer = client.get("/admin/")
        assert answer.status_code == 302 and "/admin/login" in answer.location
    assert marketer.get("/admin/").status_code == 200  # other users keep their sessions
    assert sign_in(app.test_client(), "admin@example-shop.net").status_code == 401
    assert sign_in(app.test_client(), "admin@example-shop.net", "a brand new passphrase").status_code == 302


@pytest.mark.parametrize("args, message", [
    (("nobody@example-shop.net",), "no console user with that address"),
    (("admin@example-shop.net",), "at least 12 characters"),
])
def test_set_password_says_what_is_wrong(app, args, message):
    result = invoke(app, "users", "set-password", *args, input="short\nshort\n")
    assert result.exit_code == 1 and message in result.output
    assert sign_in(app.test_client(), "admin@example-shop.net").status_code == 302  # nothing changed


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_wrong_passwords_for_one_account_are_limited_whichever_addresses_they_come_from(make_app, store, request):
    if store == "redis":
        request.getfixturevalue("redis_client")  # an empty Redis database
    app = make_app(redis_url=REDIS_URL if store == "redis" else "")
    with app.app_context(), db.session() as session:
        for name in ("owner", "colleague"):
            users.create_user(session, f"{name}@example-shop.net", PASSWORD, "marketer")
        session.commit()
    # With Redis, the count is shared by the workers: here two apps, as two processes would be.
    workers = [app.test_client(), make_app(redis_url=REDIS_URL).test_client()] if store == "redis" \
        else [app.test_client()]

    def attempts(email, password, n):
        return [sign_in(workers[i % len(workers)], email, password).status_code for i in range(n)]

    # An attacker spreads guesses over many addresses; each address stays under its own limit.
    assert attempts("owner@example-shop.net", "guess 1234567", 7) == [401] * 5 + [429] * 2
    assert attempts("owner@example-shop.net", PASSWORD, 1) == [429]  # even the right password waits now
    assert attempts(" Owner@Example-Shop.NET ", PASSWORD, 1) == [429]  # however the address is spelled
    # An account that does not exist answers exactly the same: the limit reveals nothing.
    assert attempts("nobody@example-shop.net", "guess 1234567", 7) == [401] * 5 + [429] * 2
    assert attempts("colleague@example-shop.net", PASSWORD, 1) == [302]  # other accounts are not locked


def test_a_right_password_is_not_counted_against_the_account(app):
    for _ in range(8):
        client = app.test_client()
        assert sign_in(client, "marketer@example-shop.net").status_code == 302


@pytest.mark.parametrize("target", [
    "/admin/outbox\r\nSet-Cookie: stolen=1",
    "/admin/outbox%0d%0aSet-Cookie:%20stolen=1",
    "//evil.example/admin",
    "/\\evil.example",
    "/admin\\@evil.example",
    "\\\\evil.example/admin",
    "https://evil.example/admin",
    "http:/evil.example/admin",
    "javascript:alert(1)//admin",
    " //evil.example",
    "/admin/../../evil",
    "/admin/%2e%2e/evil",
    "/admin@evil.example",
    "/adminevil",
    "/f/demo",
    "",
])
def test_after_sign_in_only_console_pages_are_followed(app, target):
    answer = sign_in(app.test_client(), "admin@example-shop.net", next_url=target)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/admin/"
    assert "stolen" not in answer.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("target", ["/admin/outbox", "/admin/outbox?page=2", "/admin/"])
def test_after_sign_in_the_console_page_asked_for_opens(app, target):
    answer = sign_in(app.test_client(), "admin@example-shop.net", next_url=target)
    assert answer.status_code == 302 and answer.headers["Location"] == target


def test_a_page_asked_for_before_sign_in_opens_after_it(app):
    client = app.test_client()
    first = client.get("/admin/outbox")
    assert first.status_code == 302
    token = csrf_token(client.get(first.location).text)
    answer = client.post(first.location, data={"csrf_token": token, "email": "viewer@example-shop.net",
                                               "password": PASSWORD})
    assert answer.headers["Location"] == "/admin/outbox"


def policy_of(response) -> dict[str, str]:
    directives = [part.strip().split(None, 1) for part in response.headers["Content-Security-Policy"].split(";")]
    names = [d[0] for d in directives]
    assert len(names) == len(set(names)), "a directive is given twice"
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


def assert_strict(response, frame_ancestors: str | None = "'none'") -> None:
    policy = policy_of(response)
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'" and policy["object-src"] == "'none'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert policy.get("frame-ancestors") == frame_ancestors
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_every_page_sends_a_strict_policy_and_nobody_frames_the_console_or_a_subscriber_page(
        app, client, admin, sent, session):
    links = {link.split("/")[3]: link.removeprefix("http://127.0.0.1:5000")
             for link in links_in(mailbox_copy(app, sent))}
    links["preferences"] = Links(app.config["SETTINGS"]).preferences(contact_of(session, SUBSCRIBER)).removeprefix(
        "http://127.0.0.1:5000")
    for url in ("/admin/login", "/admin/", "/admin/outbox", f"/admin/outbox/{sent.id}"):
        assert_strict(admin.get(url) if url != "/admin/login" else client.get(url))
    for kind in ("confirm", "preferences", "unsubscribe"):
        page = client.get(links[kind])
        assert page.status_code == 200, kind
        assert_strict(page)
    assert_strict(client.get("/no/such/page"))  # error pages too
    assert_strict(client.get("/f/demo"), frame_ancestors="'self'")  # the hosted form, as before
    assert "Strict-Transport-Security" not in client.get("/f/demo").headers  # not over plain HTTP


def test_the_email_preview_keeps_its_inline_styles_inside_a_sandbox(admin, sent):
    answer = admin.get(f"/admin/outbox/{sent.id}/html")
    policy = policy_of(answer)
    assert policy["style-src"] == "'unsafe-inline'" and policy["frame-ancestors"] == "'self'"
    # No script runs in it, and it is not of the console's origin (no cookie, no console pages).
    assert policy["sandbox"] == "allow-popups allow-popups-to-escape-sandbox"


def test_the_form_frame_is_still_framed_by_the_sites_the_form_allows(app, client):
    invoke(app, "forms", "origins", "demo", "--allow", "https://blog.example-shop.net")
    page = client.get("/f/demo/frame")
    assert page.status_code == 200
    assert_strict(page, frame_ancestors="'self' https://blog.example-shop.net")


def test_production_asks_browsers_to_use_https_from_now_on(make_app):
    app = make_app(env="production", base_url="https://lists.example-shop.net",
                   secret_keys=(secrets.token_urlsafe(48),))
    with app.app_context(), db.session() as session:
        embedded.ensure_demo(session)
        session.commit()
    client = app.test_client()
    for url in ("/admin/login", "/f/demo", "/no/such/page"):
        answer = client.get(url, base_url="https://lists.example-shop.net")
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000", url
        assert_strict(answer, frame_ancestors="'self'" if url == "/f/demo" else "'none'")


@pytest.mark.browser
def test_the_console_shows_an_email_on_a_phone_without_breaking_its_policy(app, sent, live_server, phone):
    _, base = live_server
    page = phone.page
    page.goto(f"{base}/admin/login")
    phone.assert_styled()
    page.get_by_label("Email").fill("admin@example-shop.net")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    page.get_by_role("link", name="Outbox").click()
    page.get_by_role("link", name=str(sent.id), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(SUBSCRIBER)
    button = page.frame_locator("iframe.mail").get_by_role("link", name="Confirm my address")
    expect(button).to_be_visible()
    # The email's own inline style applies in the preview: its button is blue, as in a mail client.
    assert button.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(31, 95, 191)"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # phone.problems (checked by the fixture) holds any policy violation the browser reported
