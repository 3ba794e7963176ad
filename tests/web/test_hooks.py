"""Provider webhooks end to end: what a provider reports to /hooks/<provider>, signed as it signs, shows
on the contacts once the workers have read it, as a marketer expects; a request that is unsigned,
wrongly signed, stale or too large stores nothing."""

import datetime as dt
import json
import math
import time

import pytest
import sqlalchemy as sa
from flask.cli import ScriptInfo

from listserver.cli import main
from listserver.models import DeliveryReport
from tests.bounces.providers.signers import (
    SNS_TOPIC,
    SendGridSigner,
    SnsSigner,
    basic_auth,
    mailgun_body,
    payload,
    standard_headers,
    standard_secret,
)
from tests.conftest import contact_of
from tests.test_bad_input import post_chunked

MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
POSTMARK_USER, POSTMARK_PASSWORD = "postmark", "s3cret-Hook-pass"
STANDARD_SECRET = standard_secret()
SENDGRID = SendGridSigner()


@pytest.fixture
def settings(settings):
    """Every hook on, with the test's own keys."""
    return settings.replace(
        ses_topic_arns=(SNS_TOPIC,), postmark_webhook_user=POSTMARK_USER, postmark_webhook_password=POSTMARK_PASSWORD,
        mailgun_webhook_signing_key=MAILGUN_KEY, sendgrid_webhook_public_key=SENDGRID.public_key,
        generic_webhook_secret=STANDARD_SECRET)


@pytest.fixture
def sns(app):
    """SNS's signing key. AWS's certificate host is the edge of the world: the app's fetcher is
    replaced by one that serves the test's own certificate (and answers subscription confirmations)."""
    signer = SnsSigner()
    app.extensions["listserver.hook_fetcher"] = signer.fetcher
    return signer


# --- each provider's requests, built from its documented examples --------------------------------

TIMES = {"timestamp", "BouncedAt", "DeliveredAt", "ReceivedAt", "ChangedAt"}


def now(document):
    """The example with every event time set to now (the examples are years old)."""
    if isinstance(document, dict):
        return {key: (_now_like(value) if key in TIMES else now(value)) for key, value in document.items()}
    if isinstance(document, list):
        return [now(item) for item in document]
    return document


def _now_like(value):
    if isinstance(value, str):
        return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    # Whole seconds rounded up: an open now must not seem older than the confirmation a moment ago.
    return time.time() if isinstance(value, float) else math.ceil(time.time())


SES_EXAMPLES = {"bounce": "ses_bounce", "block": "ses_block", "complaint": "ses_complaint",
                "delivery": "ses_delivery", "open": "ses_open", "machine_open": "ses_open", "click": "ses_click",
                "unsubscribe": "ses_subscription"}
SES_ADDRESSES = ("jane@example.com", "richard@example.com", "recipient@example.com")


def ses_requests(sns, reports):
    requests = []
    for kind, address, message_id in reports:
        event = now(json.loads(payload(SES_EXAMPLES[kind], dict.fromkeys(SES_ADDRESSES, address))))
        event["mail"]["commonHeaders"]["messageId"] = message_id
        if kind == "machine_open":
            event["open"]["userAgent"] = "Mozilla/5.0"
        envelope = sns.notification(json.dumps(event))
        requests.append(({"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification"},
                         json.dumps(envelope).encode()))
    return requests


POSTMARK_EXAMPLES = {"bounce": "postmark_bounce", "block": "postmark_block", "complaint": "postmark_spam_complaint",
                     "delivery": "postmark_delivery", "open": "postmark_open", "machine_open": "postmark_open",
                     "click": "postmark_click", "unsubscribe": "postmark_subscription_change"}


def postmark_requests(sns, reports):
    requests = []
    for kind, address, _ in reports:  # Postmark's events carry its own message ids, not ours
        event = now(json.loads(payload(POSTMARK_EXAMPLES[kind], {"john@example.com": address})))
        if kind == "machine_open":
            event["UserAgent"] = "Mozilla/5.0"
        requests.append(({"Content-Type": "application/json", **basic_auth(POSTMARK_USER, POSTMARK_PASSWORD)},
                         json.dumps(event).encode()))
    return requests


MAILGUN_EXAMPLES = {"bounce": "mailgun_failed", "block": "mailgun_block", "complaint": "mailgun_complained",
                    "delivery": "mailgun_delivered", "open": "mailgun_opened",
                    "machine_open": "mailgun_opened_by_apple", "click": "mailgun_clicked",
                    "unsubscribe": "mailgun_unsubscribed"}


def mailgun_requests(sns, reports):
    requests = []
    for kind, address, message_id in reports:
        posted = json.loads(payload(MAILGUN_EXAMPLES[kind], {"alice@example.com": address}))
        event = posted["event-data"] = now(posted["event-data"])
        event["message"]["headers"]["message-id"] = message_id.strip("<>")  # as Mailgun shows it
        requests.append(({"Content-Type": "application/json"}, mailgun_body(posted, MAILGUN_KEY)))
    return requests


SENDGRID_EXAMPLES = {"delivery": 2, "open": 3, "machine_open": 4, "click": 5, "bounce": 6, "block": 7,
                     "complaint": 9, "unsubscribe": 10}  # positions in the documented batch


def sendgrid_requests(sns, reports):
    examples = json.loads(payload("sendgrid_events"))
    batch = [now({**examples[SENDGRID_EXAMPLES[kind]], "email": address, "smtp-id": message_id,
                  "sg_event_id": f"{kind}-{address}"}) for kind, address, message_id in reports]
    body = json.dumps(batch).encode()  # SendGrid sends them all in one batch
    return [(SENDGRID.headers(body), body)]


STANDARD_EVENTS = {
    "bounce": {"type": "bounce", "status": "5.1.1",
               "reason": "550 5.1.1 <{email}>: Recipient address rejected: User unknown in virtual mailbox table"},
    "block": {"type": "bounce", "status": "5.7.1",
              "reason": "554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org"},
    "complaint": {"type": "complaint"}, "delivery": {"type": "delivery"}, "open": {"type": "open"},
    "machine_open": {"type": "open", "user_agent": "Mozilla/5.0"}, "click": {"type": "click"},
    "unsubscribe": {"type": "unsubscribe"},
}


def standard_requests(sns, reports):
    requests = []
    for kind, address, message_id in reports:
        event = {**STANDARD_EVENTS[kind], "email": address, "message_id": message_id,
                 "timestamp": dt.datetime.now(dt.UTC).isoformat()}
        event["reason"] = event.get("reason", "").format(email=address)
        body = json.dumps(event).encode()
        requests.append((standard_headers(STANDARD_SECRET, body), body))
    return requests


REQUESTS = {"ses": ses_requests, "postmark": postmark_requests, "mailgun": mailgun_requests,
            "sendgrid": sendgrid_requests, "generic": standard_requests}
SOURCES = {"ses": "ses", "postmark": "postmark", "mailgun": "mailgun", "sendgrid": "sendgrid", "generic": "webhook"}


# --- people, and what the marketer sees of them ---------------------------------------------------

def subscribed(app, client, submit, deliver, inbox, addresses) -> dict[str, str]:
    """People who signed up and confirmed; the Message-ID of the last email each got (the download)."""
    for address in addresses:
        submit(address)
    deliver(app)
    for address in addresses:
        client.post(inbox.link(inbox.to(address)[0], "confirm"))
    deliver(app)
    return {address: inbox.to(address)[-1]["Message-ID"] for address in addresses}


def shown(app, runner, address) -> dict:
    """The contact as `listserver contacts show` prints it for the marketer."""
    result = runner.invoke(main, ["contacts", "show", address], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def events(contact: dict, kind: str) -> list[dict]:
    return [event["data"] for event in contact["events"] if event["kind"] == kind]


def stored(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(DeliveryReport))


GONE, BLOCKED, ANNOYED = "gone@example-shop.net", "blocked@example-shop.net", "annoyed@example-shop.net"
READER, APPLE, LEAVING = "reader@example-shop.net", "apple-mail@example-shop.net", "leaving@example-shop.net"


@pytest.mark.parametrize("provider", REQUESTS)
def test_what_a_provider_reports_shows_on_the_contacts(provider, app, client, submit, deliver, inbox, session, runner,
                                                       sns, process_reports):
    sent = subscribed(app, client, submit, deliver, inbox, [GONE, BLOCKED, ANNOYED, READER, APPLE, LEAVING])
    engaged = {address: contact_of(session, address).last_engaged_at for address in sent}
    reports = [("bounce", GONE), ("block", BLOCKED), ("complaint", ANNOYED), ("delivery", READER), ("open", READER),
               ("click", READER), ("machine_open", APPLE), ("unsubscribe", LEAVING)]
    for headers, body in REQUESTS[provider](sns, [(kind, address, sent[address]) for kind, address in reports]):
        answer = client.post(f"/hooks/{provider}", data=body, headers=headers)
        assert answer.status_code == 200, answer.json
    assert stored(session) == len(reports)
    process_reports(app)

    gone = shown(app, runner, GONE)  # the address does not exist: cleaned, never mailed again
    assert gone["status"] == "cleaned"
    assert [(e["type"], e["source"]) for e in events(gone, "bounced")] == [("hard", SOURCES[provider])]
    blocked = shown(app, runner, BLOCKED)  # a block list's refusal is not the person's fault
    assert blocked["status"] == "subscribed"
    assert {s["status"] for s in blocked["subscriptions"]} == {"active"}
    assert [e["type"] for e in events(blocked, "bounced")] == ["other"]
    annoyed = shown(app, runner, ANNOYED)
    assert annoyed["status"] == "complained"
    assert {s["status"] for s in annoyed["subscriptions"]} == {"unsubscribed"}
    assert len(events(annoyed, "complained")) == 1
    reader = shown(app, runner, READER)
    assert reader["status"] == "subscribed"
    assert len(events(reader, "opened")) == 1 and len(events(reader, "clicked")) == 1
    assert contact_of(session, READER).last_engaged_at > engaged[READER]
    assert contact_of(session, READER).last_delivered_at is not None
    apple = shown(app, runner, APPLE)  # Apple's proxy opened it: no sign the person read anything
    assert [e.get("machine") for e in events(apple, "opened")] == [True]
    assert contact_of(session, APPLE).last_engaged_at == engaged[APPLE]
    leaving = shown(app, runner, LEAVING)
    assert leaving["status"] == "unsubscribed"
    assert {s["status"] for s in leaving["subscriptions"]} == {"unsubscribed"}


# --- what is refused, and stores nothing ----------------------------------------------------------

def one_request(provider, sns, address="someone@example-shop.net"):
    [(headers, body)] = REQUESTS[provider](sns, [("bounce", address, "<x.1@localhost>")])
    return headers, body


def tampered(provider, headers, body):
    """The same request with the event changed after signing (Postmark: a wrong password; Mailgun, whose
    signature does not cover the event: its token changed, see the test of tokens used again)."""
    if provider == "postmark":
        return {**headers, **basic_auth(POSTMARK_USER, "guess")}, body
    if provider == "mailgun":
        posted = json.loads(body)
        posted["signature"]["token"] = posted["signature"]["token"][::-1]
        return headers, json.dumps(posted).encode()
    changed = body.replace(b"someone@", b"another@")
    assert changed != body
    return headers, changed


UNSIGNED = {"ses": "Signature", "postmark": "Authorization", "mailgun": "signature",
            "sendgrid": "X-Twilio-Email-Event-Webhook-Signature", "generic": "webhook-signature"}


def unsigned(provider, headers, body):
    if provider in ("ses", "mailgun"):  # the signature is in the body
        document = json.loads(body)
        del document[UNSIGNED[provider]]
        return headers, json.dumps(document).encode()
    return {name: value for name, value in headers.items() if name != UNSIGNED[provider]}, body


@pytest.mark.parametrize("provider", REQUESTS)
def test_a_tampered_or_unsigned_request_is_a_401_and_stores_nothing(provider, client, session, sns):
    headers, body = one_request(provider, sns)
    for wrong_headers, wrong_body in (tampered(provider, headers, body), unsigned(provider, headers, body)):
        answer = client.post(f"/hooks/{provider}", data=wrong_body, headers=wrong_headers)
        assert answer.status_code == 401 and answer.json["error"] == "unauthenticated"
    assert stored(session) == 0


def test_postmark_is_asked_for_its_password(client):
    answer = client.post("/hooks/postmark", data=b"{}", headers={"Content-Type": "application/json"})
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Basic ")


@pytest.mark.parametrize("provider", ["ses", "mailgun", "sendgrid", "generic"])  # Postmark signs no time
def test_a_request_signed_more_than_five_minutes_ago_is_a_401(provider, client, session, sns, monkeypatch):
    headers, body = one_request(provider, sns)
    later = time.time() + 301
    monkeypatch.setattr(time, "time", lambda: later)  # the same request, replayed five minutes later
    answer = client.post(f"/hooks/{provider}", data=body, headers=headers)
    assert answer.status_code == 401
    assert stored(session) == 0


@pytest.mark.parametrize("provider", REQUESTS)
def test_a_providers_retry_is_stored_once(provider, client, session, sns):
    headers, body = one_request(provider, sns)
    assert client.post(f"/hooks/{provider}", data=body, headers=headers).json["stored"] == 1
    again = client.post(f"/hooks/{provider}", data=body, headers=headers)
    assert again.status_code == 200 and again.json["stored"] == 0
    assert stored(session) == 1


def test_a_mailgun_signature_sent_again_with_another_event_is_a_401(client, session, sns):
    [(headers, body)] = mailgun_requests(sns, [("delivery", "someone@example-shop.net", "<x.1@localhost>")])
    assert client.post("/hooks/mailgun", data=body, headers=headers).status_code == 200
    forged = json.loads(payload("mailgun_unsubscribed", {"alice@example.com": "someone@example-shop.net"}))
    forged["signature"] = json.loads(body)["signature"]
    answer = client.post("/hooks/mailgun", data=json.dumps(forged), headers=headers)
    assert answer.status_code == 401
    assert stored(session) == 1


def test_a_batch_larger_than_a_form_is_taken_and_one_over_the_hook_limit_is_a_413(client, session, sns):
    examples = json.loads(payload("sendgrid_events"))
    batch = [{**examples[2], "email": f"p{n}@example-shop.net", "sg_event_id": f"delivered-{n}",
              "timestamp": int(time.time())} for n in range(1500)]
    body = json.dumps(batch).encode()
    assert 64 * 1024 < len(body) < 1024 * 1024
    answer = client.post("/hooks/sendgrid", data=body, headers=SENDGRID.headers(body))
    assert answer.status_code == 200 and answer.json["stored"] == 1500
    huge = json.dumps(batch * 4).encode()
    assert len(huge) > 1024 * 1024
    answer = client.post("/hooks/sendgrid", data=huge, headers=SENDGRID.headers(huge))
    assert answer.status_code == 413
    assert stored(session) == 1500


def test_a_chunked_body_gets_the_hooks_limit_too(live_server):
    # No Content-Length: read by the middleware, up to the hook limit rather than the form limit.
    _, base_url = live_server
    status, answer = post_chunked(base_url, "/hooks/generic", "application/json", b" " * (200 * 1024))
    assert status == 401 and answer["error"] == "unauthenticated"  # read whole, then refused: unsigned
    status, answer = post_chunked(base_url, "/hooks/generic", "application/json", b" " * (2 * 1024 * 1024))
    assert status == 413


def test_an_unknown_or_unconfigured_hook_is_a_404(client, make_app):
    assert client.post("/hooks/sparkpost", data=b"{}").status_code == 404
    assert client.get("/hooks/generic").status_code == 405
    off = make_app(generic_webhook_secret="").test_client()  # the setting is empty: that hook is off
    headers, body = one_request("generic", None)
    answer = off.post("/hooks/generic", data=body, headers=headers)
    assert answer.status_code == 404 and answer.json["error"] == "not_found"


@pytest.mark.parametrize("body", [b"", b"not json", b"[", b"\xff\xfe\x00", "\u202e\U0001f4a5".encode() * 1000,
                                  b"[" * 100_000])
def test_junk_is_never_a_500(client, session, body):
    for provider, headers in (("ses", {}), ("postmark", basic_auth(POSTMARK_USER, POSTMARK_PASSWORD)),
                              ("mailgun", {}), ("sendgrid", SENDGRID.headers(body)),
                              ("generic", standard_headers(STANDARD_SECRET, body))):
        answer = client.post(f"/hooks/{provider}", data=body, headers={"Content-Type": "application/json", **headers})
        assert answer.status_code in (401, 422), (provider, answer.status_code)
    assert stored(session) == 0


# --- SNS's subscription handshake ------------------------------------------------------------------

def test_sns_asks_to_subscribe_and_is_answered(client, session, sns):
    request = sns.subscription()
    answer = client.post("/hooks/ses", data=json.dumps(request),
                         headers={"Content-Type": "text/plain; charset=UTF-8",
                                  "x-amz-sns-message-type": "SubscriptionConfirmation"})
    assert answer.status_code == 200
    assert request["SubscribeURL"] in sns.fetcher.fetched  # confirmed with SNS
    assert stored(session) == 0


def test_when_aws_cannot_be_reached_sns_is_asked_to_send_again(client, session, sns):
    elsewhere = SnsSigner("https://sns.eu-west-2.amazonaws.com/SimpleNotificationService-other.pem")
    envelope = elsewhere.notification(payload("ses_delivery"))  # its certificate: not served by the stand-in
    answer = client.post("/hooks/ses", data=json.dumps(envelope), headers={"Content-Type": "text/plain"})
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert stored(session) == 0
