"""Amazon SES through SNS: only SNS's signature, with a certificate from SNS's own hosts, on a topic we
listed, lets a report in; what SES reports is read as a marketer would expect."""

import datetime as dt
import json
import time

import pytest

from listserver.bounces.providers import ses
from listserver.errors import Invalid, Unauthenticated
from listserver.models import ReportKind
from listserver.settings import Settings
from tests.bounces.providers.signers import SNS_CERT_URL, SNS_TOPIC, SnsSigner, hook, payload

SETTINGS = Settings(ses_topic_arns=(SNS_TOPIC,))


@pytest.fixture(scope="module")
def sns():
    return SnsSigner()


def accept(signer: SnsSigner, envelope: dict | str, **kwargs):
    body = envelope if isinstance(envelope, str) else json.dumps(envelope)
    return ses.accept(hook({"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification"},
                           body, SETTINGS, fetcher=signer.fetcher, **kwargs))


@pytest.mark.parametrize("version", ["1", "2"])  # SHA1withRSA and SHA256withRSA
def test_a_signed_notification_is_stored_under_its_message_id(sns, version):
    message = payload("ses_bounce")
    envelope = sns.notification(message, version=version)
    [event] = accept(sns, envelope)
    assert event.external_id == envelope["MessageId"]
    assert event.raw == message  # the SES event itself, for the reader


def test_subject_is_signed_when_present(sns):
    envelope = sns.notification(payload("ses_delivery"), subject="Amazon SES Email Event Notification")
    assert len(accept(sns, envelope)) == 1
    with pytest.raises(Unauthenticated):
        accept(sns, {**envelope, "Subject": "Something else"})
    with pytest.raises(Unauthenticated):
        accept(sns, {key: value for key, value in envelope.items() if key != "Subject"})


@pytest.mark.parametrize("change", [
    {"Message": payload("ses_complaint")},  # another event under a genuine signature
    {"TopicArn": "arn:aws:sns:eu-west-1:123456789012:other-topic"},
    {"Signature": ""},
    {"Signature": "not base64!"},
    {"SignatureVersion": "3"},
    {"Type": "SomethingElse"},
])
def test_a_changed_or_unsigned_message_is_refused(sns, change):
    envelope = sns.notification(payload("ses_bounce"))
    with pytest.raises(Unauthenticated):
        accept(sns, {**envelope, **change})


def test_a_missing_signature_is_refused(sns):
    envelope = sns.notification(payload("ses_bounce"))
    del envelope["Signature"]
    with pytest.raises(Unauthenticated):
        accept(sns, envelope)


@pytest.mark.parametrize("url", [
    "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.eu-west-1.amazonaws.com.attacker.example/SimpleNotificationService-1.pem",
    "https://attacker.example/sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.eu-west-1.amazonaws.com@attacker.example/SimpleNotificationService-1.pem",
    "https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
    "https://s3.amazonaws.com/sns/SimpleNotificationService-1.pem",
    "https://sns.amazonaws.com/SimpleNotificationService-1.pem",
])
def test_the_certificate_comes_from_an_sns_host_only(url):
    attacker = SnsSigner(url)  # signs with its own key and serves its certificate at that URL
    with pytest.raises(Unauthenticated):
        accept(attacker, attacker.notification(payload("ses_bounce")))
    assert attacker.fetcher.fetched == []  # never even asked


def test_sns_in_china_is_sns_too():
    china = SnsSigner("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem")
    assert len(accept(china, china.notification(payload("ses_bounce")))) == 1


def test_a_certificate_of_another_key_at_the_right_address_is_refused(sns):
    impostor = SnsSigner()  # same URL, its own key: SNS serves sns's certificate there
    with pytest.raises(Unauthenticated):
        accept(sns, impostor.notification(payload("ses_bounce")))


def test_an_expired_certificate_is_refused():
    old = SnsSigner(valid_from=dt.datetime.now(dt.UTC) - dt.timedelta(days=60))
    with pytest.raises(Unauthenticated):
        accept(old, old.notification(payload("ses_bounce")))


def test_a_topic_not_listed_is_refused_before_anything_is_fetched():
    signer = SnsSigner()
    with pytest.raises(Unauthenticated):
        accept(signer, signer.notification(payload("ses_bounce"), topic="arn:aws:sns:eu-west-1:999999999999:theirs"))
    assert signer.fetcher.fetched == []


def test_a_message_signed_more_than_five_minutes_ago_is_refused(sns):
    assert accept(sns, sns.notification(payload("ses_bounce"), when=time.time() - 280))
    with pytest.raises(Unauthenticated):
        accept(sns, sns.notification(payload("ses_bounce"), when=time.time() - 320))
    with pytest.raises(Unauthenticated):
        accept(sns, sns.notification(payload("ses_bounce"), when=time.time() + 320))


def test_the_certificate_is_fetched_once():
    signer = SnsSigner()
    for _ in range(3):
        accept(signer, signer.notification(payload("ses_delivery")))
    assert signer.fetcher.fetched == [SNS_CERT_URL]


def test_a_subscription_request_is_confirmed_and_stores_nothing(sns):
    request = sns.subscription()
    assert accept(sns, request) == []
    assert sns.fetcher.fetched[-1] == request["SubscribeURL"]


def test_a_subscription_request_for_a_confirmation_elsewhere_is_refused():
    signer = SnsSigner()
    request = signer.subscription(subscribe_url="https://attacker.example/?Action=ConfirmSubscription&Token=1")
    with pytest.raises(Unauthenticated):
        accept(signer, request)
    assert "https://attacker.example/?Action=ConfirmSubscription&Token=1" not in signer.fetcher.fetched


def test_an_unsubscribe_confirmation_changes_nothing():
    signer = SnsSigner()
    assert accept(signer, signer.subscription(kind="UnsubscribeConfirmation")) == []
    assert signer.fetcher.fetched == [SNS_CERT_URL]  # checked, and not subscribed again


@pytest.mark.parametrize("body", ["", "not json", "[]", '"Notification"', "\u00e9\u00e9" * 10, "[" * 100_000])
def test_junk_is_refused_without_a_crash(sns, body):
    with pytest.raises((Invalid, Unauthenticated)):
        accept(sns, body)


def test_what_ses_reports_reads_as_a_marketer_expects():
    [bounce] = ses.read(payload("ses_bounce"))
    assert (bounce.kind, bounce.recipient, bounce.status) == (ReportKind.HARD, "jane@example.com", "5.1.1")
    assert bounce.message_ref == "custom-message-ID"
    assert bounce.occurred_at == dt.datetime(2016, 1, 27, 14, 59, 38, 237000, tzinfo=dt.UTC)
    [block] = ses.read(payload("ses_block"))  # "Permanent", yet a block list: never the address's fault
    assert (block.kind, block.status) == (ReportKind.OTHER, "5.7.1")
    [complaint] = ses.read(payload("ses_complaint"))
    assert (complaint.kind, complaint.recipient) == (ReportKind.COMPLAINT, "richard@example.com")
    [delivery] = ses.read(payload("ses_delivery"))
    assert (delivery.kind, delivery.recipient) == (ReportKind.DELIVERY, "jane@example.com")
    [opened] = ses.read(payload("ses_open"))
    assert (opened.kind, opened.recipient, opened.machine) == (ReportKind.OPEN, "recipient@example.com", False)
    [clicked] = ses.read(payload("ses_click"))
    assert (clicked.kind, clicked.machine) == (ReportKind.CLICK, False)
    [left] = ses.read(payload("ses_subscription"))
    assert (left.kind, left.recipient) == (ReportKind.UNSUBSCRIBE, "recipient@example.com")


def test_apple_mail_privacy_protection_opens_are_machines():
    event = json.loads(payload("ses_open"))
    event["open"]["userAgent"] = "Mozilla/5.0"
    [opened] = ses.read(json.dumps(event))
    assert opened.kind == ReportKind.OPEN and opened.machine


def test_ses_verdicts_only_make_a_bounce_milder():
    event = json.loads(payload("ses_bounce"))
    bounce = event["bounce"]
    bounce.update(bounceType="Transient", bounceSubType="MailboxFull")
    bounce["bouncedRecipients"][0].update(status="5.2.2", diagnosticCode="smtp; 552 5.2.2 Mailbox full")
    assert ses.read(json.dumps(event))[0].kind == ReportKind.SOFT
    # SES did not try: the address is on the account's suppression list. Nothing the receiver said.
    bounce.update(bounceType="Permanent", bounceSubType="OnAccountSuppressionList")
    bounce["bouncedRecipients"][0].update(status="5.1.1", diagnosticCode="Amazon SES did not send the message to "
                                          "this address because it is on the suppression list for your account.")
    assert ses.read(json.dumps(event))[0].kind != ReportKind.HARD


def test_our_return_path_ties_the_report_to_our_email():
    event = json.loads(payload("ses_bounce"))
    event["mail"]["source"] = "bounces+1234-k3xq9z@lists.example.com"
    assert ses.read(json.dumps(event))[0].message_ref == "bounces+1234-k3xq9z@lists.example.com"


def test_events_that_say_nothing_about_the_person_are_ignored():
    for kind in ("Send", "Reject", "Rendering Failure", "DeliveryDelay", "AmazonSnsSubscriptionSucceeded"):
        event = {"eventType": kind, "mail": {"destination": ["jane@example.com"]}}
        assert [report.kind for report in ses.read(json.dumps(event))] == [ReportKind.IGNORED]
