"""The providers' side of the webhooks, for tests: test keys, and signing as each provider's documentation says.

The signing here is written from the providers' documentation, not from listserver's code, so a
mistake in one is not repeated in the other.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from werkzeug.datastructures import Headers

from listserver.bounces.providers.common import Hook
from listserver.bounces.providers.fetcher import FetchFailed, Fetcher
from listserver.bounces.providers.replay import TokenMemory

PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str, addresses: dict[str, str] | None = None) -> str:
    """A provider's example payload (payloads/<name>.json), with its example addresses replaced by ours."""
    content = (PAYLOADS / f"{name}.json").read_text()
    for example, address in (addresses or {}).items():
        content = content.replace(example, address)
    return content


def hook(headers: dict, body: bytes | str, settings, *, now: float | None = None, fetcher: Fetcher | None = None,
         tokens: TokenMemory | None = None) -> Hook:
    """A request as the hook view hands it to a provider's accept()."""
    return Hook(Headers(headers), body.encode() if isinstance(body, str) else body, settings,
                time.time() if now is None else now, fetcher or Fetcher(), (tokens or TokenMemory("", 30)).first_use)


# --- Amazon SNS (for SES) ------------------------------------------------------------------------

SNS_TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-reports"
SNS_CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem"


class ServedFetcher(Fetcher):
    """AWS's servers, faked at the edge of the world: serves the test's certificate, answers
    subscription confirmations, and remembers every URL it was asked for."""

    def __init__(self, served: dict[str, bytes]):
        super().__init__()
        self.served, self.fetched = served, []

    def get(self, url: str) -> bytes:
        self.fetched.append(url)
        if url in self.served:
            return self.served[url]
        if "Action=ConfirmSubscription" in url:
            return b"<ConfirmSubscriptionResponse><ConfirmSubscriptionResult/></ConfirmSubscriptionResponse>"
        raise FetchFailed("not served")


class SnsSigner:
    """SNS's signing key and certificate (self-signed, as a test's own), and SNS's message envelope."""

    def __init__(self, cert_url: str = SNS_CERT_URL, *, valid_from: dt.datetime | None = None):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        start = valid_from or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        self.certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=30))
                            .sign(self.key, hashes.SHA256()))
        self.cert_url = cert_url
        self.fetcher = ServedFetcher({cert_url: self.certificate.public_bytes(serialization.Encoding.PEM)})

    def notification(self, message: str, *, version: str = "1", topic: str = SNS_TOPIC, when: float | None = None,
                     message_id: str | None = None, subject: str | None = None) -> dict:
        envelope = {
            "Type": "Notification",
            "MessageId": message_id or str(uuid.uuid4()),
            "TopicArn": topic,
            "Message": message,
            "Timestamp": _iso(when),
            "SignatureVersion": version,
            "SigningCertURL": self.cert_url,
            "UnsubscribeURL": f"https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic}:"
                              "c9135db0-26c4-47ec-8998-413945fb5a96",
        }
        if subject is not None:
            envelope["Subject"] = subject
        return self.sign(envelope)

    def subscription(self, *, topic: str = SNS_TOPIC, kind: str = "SubscriptionConfirmation",
                     subscribe_url: str | None = None, version: str = "2") -> dict:
        token = secrets.token_hex(64)
        envelope = {
            "Type": kind,
            "MessageId": str(uuid.uuid4()),
            "Token": token,
            "TopicArn": topic,
            "Message": f"You have chosen to subscribe to the topic {topic}.\nTo confirm the subscription, visit "
                       "the SubscribeURL included in this message.",
            "SubscribeURL": subscribe_url or "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"
                                             f"&TopicArn={topic}&Token={token}",
            "Timestamp": _iso(None),
            "SignatureVersion": version,
            "SigningCertURL": self.cert_url,
        }
        return self.sign(envelope)

    def sign(self, envelope: dict) -> dict:
        """Sign as SNS documents it: "Name\\nvalue\\n" for each signed field present, in byte order of the names."""
        if envelope["Type"] == "Notification":
            names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        else:
            names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
        string = "".join(f"{name}\n{envelope[name]}\n" for name in names if name in envelope)
        digest = hashes.SHA1() if envelope["SignatureVersion"] == "1" else hashes.SHA256()
        signature = self.key.sign(string.encode(), padding.PKCS1v15(), digest)
        return {**envelope, "Signature": base64.b64encode(signature).decode()}


def _iso(when: float | None) -> str:
    moment = dt.datetime.fromtimestamp(time.time() if when is None else when, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --- Postmark ------------------------------------------------------------------------------------

def basic_auth(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


# --- Mailgun -------------------------------------------------------------------------------------

def mailgun_body(document: str | dict, key: str, *, when: float | None = None, token: str | None = None) -> bytes:
    """The webhook's JSON with a fresh signature: hex HMAC-SHA256 of timestamp + token, keyed with the signing key."""
    posted = json.loads(document) if isinstance(document, str) else document
    timestamp = str(int(time.time() if when is None else when))
    token = token or secrets.token_hex(25)
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    posted["signature"] = {"timestamp": timestamp, "token": token, "signature": signature}
    return json.dumps(posted).encode()


# --- SendGrid ------------------------------------------------------------------------------------

class SendGridSigner:
    """The Event Webhook's signing key (P-256); its verification key as SendGrid shows it (base64 DER)."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public_key = base64.b64encode(self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()

    def headers(self, body: bytes, *, when: float | None = None) -> dict:
        timestamp = str(int(time.time() if when is None else when))
        signature = self.key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp, "Content-Type": "application/json"}


# --- Standard Webhooks ---------------------------------------------------------------------------

def standard_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def standard_headers(secret: str, body: bytes, *, when: float | None = None, webhook_id: str | None = None) -> dict:
    """webhook-id, webhook-timestamp and webhook-signature: v1,base64(HMAC-SHA256(id.timestamp.body))."""
    webhook_id = webhook_id or f"msg_{secrets.token_hex(12)}"
    timestamp = str(int(time.time() if when is None else when))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": webhook_id, "webhook-timestamp": timestamp,
            "webhook-signature": "v1," + base64.b64encode(signature).decode(), "Content-Type": "application/json"}
