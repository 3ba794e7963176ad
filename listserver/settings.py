"""Typed settings read from LISTSERVER_* environment variables."""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import math
import os
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@dataclass(frozen=True)
class Settings:
    """Everything listserver can be configured with, with embedded-mode defaults."""

    env: str = "embedded"  # "embedded" or "production"
    instance_path: str = "instance"
    # Newest key first; older keys still verify tokens so keys can be rotated.
    secret_keys: tuple[str, ...] = ()
    database_url: str = ""
    redis_url: str = ""  # empty: in-process workers and in-memory rate limits
    base_url: str = ""  # empty: http://127.0.0.1:5000 when embedded; production must give its https address

    smtp_host: str = ""  # empty: the local file outbox
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: str = "none"  # none, starttls or ssl
    smtp_timeout: float = 10.0
    mail_from: str = "listserver <noreply@localhost>"
    # The domain of every email's return path (bounces+<token>@this domain), where bounces come
    # back: its MX must lead to `listserver inbound` or a mailbox listserver reads. Empty: mail_from's.
    bounce_domain: str = ""
    # The largest bounce message taken (`listserver inbound`, `bounces ingest`): ours are small, and
    # a bounce quotes one of them at most.
    inbound_max_bytes: int = 1024 * 1024
    # A mailbox bounces are delivered to, polled every minute over IMAP (empty host: none).
    imap_host: str = ""
    imap_port: int = 993
    imap_tls: str = "ssl"  # ssl (port 993) or starttls (port 143); never without TLS
    imap_user: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"

    confirm_token_days: int = 7
    preferences_token_days: int = 365
    form_cache_seconds: float = 2.0  # how long a published form change may take to show
    form_min_seconds: float = 2.0
    form_max_age_hours: float = 24.0
    # Proof of work past a rate limit: the browser tries half this many SHA-256 hashes on average
    # (a phone about a million a second in static/challenge.js; a script pays the same CPU).
    challenge_max_number: int = 500_000

    ratelimit_ip: str = "30/minute;500/day"
    ratelimit_address: str = "5/hour"  # sign-ups of an address already known (its first is not counted)
    confirmations_per_day: int = 3
    confirmation_resend_seconds: int = 60

    dns_timeout: float = 3.0
    dns_nameservers: tuple[str, ...] = ()  # empty: the system resolver
    # A domain that surely receives mail: DNS is believed when it says a domain does not exist only
    # while it finds this one (offline boxes and captive or broken resolvers deny every name).
    dns_canary: str = "gmail.com"
    max_body_bytes: int = 64 * 1024
    worker_threads: int = 4
    proxy_hops: int = 0  # reverse proxies in front of listserver whose X-Forwarded-* to trust
    outbox_stuck_seconds: int = 60
    redis_retry_seconds: float = 30.0  # after Redis fails a request, how long requests skip it

    # Provider webhooks at /hooks/<provider>: each is off (404) until its secret is set.
    hook_max_bytes: int = 1024 * 1024  # a provider's batch of events is larger than a form (max_body_bytes)
    ses_topic_arns: tuple[str, ...] = ()  # the SNS topics Amazon SES reports to (arn:aws:sns:...)
    postmark_webhook_user: str = ""  # the basic-auth user and password in the webhook URL Postmark calls
    postmark_webhook_password: str = ""
    mailgun_webhook_signing_key: str = ""
    sendgrid_webhook_public_key: str = ""  # the Event Webhook's verification key, base64 as SendGrid shows it
    generic_webhook_secret: str = ""  # whsec_... : the generic hook, signed the Standard Webhooks way

    # List hygiene (the daily run; `listserver hygiene preview` shows what each rule would do now).
    # Soft bounces clean an address once this many arrived over at least this many days, with no
    # delivery and no engagement since the first of them.
    hygiene_soft_bounces: int = 5
    hygiene_soft_bounce_days: int = 14
    hygiene_sunset_days: int = 180  # no engagement this long: one "still want our letters?" email
    hygiene_sunset_grace_days: int = 30  # no answer this long after it: inactive
    hygiene_purge_days: int = 30  # never-confirmed sign-ups are deleted this long after their last sign-up
    hygiene_data_check_months: int = 0  # "is this still right?" once answers are this old; 0: never
    hygiene_batch_size: int = 1000  # contacts per statement and transaction
    # A run holds a lock; one that has committed nothing for this long is taken for dead (killed).
    hygiene_stale_minutes: int = 60
    # List health (`listserver hygiene report`): the mailbox providers' limits, in percent of emails sent.
    health_days: int = 30
    health_max_complaint_percent: float = 0.3
    health_max_bounce_percent: float = 2.0

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def mail_domain(self) -> str:
        """The domain of mail_from (it names our Message-IDs)."""
        return email.utils.parseaddr(self.mail_from)[1].rpartition("@")[2] or "localhost"

    @property
    def return_path_domain(self) -> str:
        return self.bounce_domain or self.mail_domain

    @property
    def mail_dir(self) -> Path:
        return Path(self.instance_path) / "mail"

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, instance_path: str = "instance") -> Settings:
        """Read LISTSERVER_* variables; embedded mode fills in what is missing."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {"instance_path": environ.get("LISTSERVER_INSTANCE_PATH", instance_path)}
        for f in dataclasses.fields(cls):
            raw = environ.get(f"LISTSERVER_{f.name.upper()}")
            if raw is None or f.name == "instance_path":
                continue
            values[f.name] = _coerce(f, raw)
        settings = cls(**values)
        return settings.completed()

    def completed(self) -> Settings:
        """Fail fast in production; derive embedded defaults otherwise."""
        if self.env not in ("embedded", "production"):
            raise SettingsError(f"LISTSERVER_ENV must be 'embedded' or 'production', not {self.env!r}")
        if self.smtp_tls not in ("none", "starttls", "ssl"):
            raise SettingsError("LISTSERVER_SMTP_TLS must be none, starttls or ssl")
        if self.imap_tls not in ("starttls", "ssl"):
            raise SettingsError("LISTSERVER_IMAP_TLS must be starttls or ssl (the password never goes without TLS)")
        _check_hooks(self)
        _check_hygiene(self)
        if self.production:
            missing = [name for name, value in (
                ("LISTSERVER_SECRET_KEYS", self.secret_keys),
                ("LISTSERVER_DATABASE_URL", self.database_url),
                ("LISTSERVER_BASE_URL", self.base_url),
            ) if not value]
            if missing:
                raise SettingsError(
                    "production mode needs " + " and ".join(missing)
                    + " (set them in the environment; see README, 'Configuration')"
                )
            _check_base_url(self.base_url)
            _check_secret_keys(self.secret_keys)
            return self
        changes: dict[str, object] = {}
        if not self.base_url:
            changes["base_url"] = EMBEDDED_BASE_URL
        if not self.database_url:
            path = Path(self.instance_path).resolve() / "listserver.sqlite"
            changes["database_url"] = f"sqlite:///{path}"
        if not self.secret_keys:
            changes["secret_keys"] = (_embedded_secret(Path(self.instance_path)),)
        return self.replace(**changes) if changes else self


EMBEDDED_BASE_URL = "http://127.0.0.1:5000"
# A key made as the error message says has over 300 bits by this estimate; "changeme" repeated
# four times has 88, and a human phrase of 32 characters about 115.
MIN_KEY_LENGTH = 32
MIN_KEY_BITS = 120
MAKE_KEY = 'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'


def _check_base_url(url: str) -> None:
    # Gmail and Yahoo ignore one-click unsubscribe on anything but https, and every emailed link
    # starts with this address.
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise SettingsError(
            f"LISTSERVER_BASE_URL must be the https:// address people reach listserver at "
            f"(e.g. https://lists.example.com), not {url!r}: every emailed link and the one-click "
            "unsubscribe header start with it, and mail providers ignore one-click on anything but https"
        )


_TOPIC_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}")


def _check_hooks(settings: Settings) -> None:
    # A webhook secret pasted wrongly would refuse every report a provider sends, unnoticed:
    # say so at start instead. (The values are not quoted back: they are secrets.)
    wrong = [arn for arn in settings.ses_topic_arns if not _TOPIC_ARN.fullmatch(arn)]
    if wrong:
        raise SettingsError(f"LISTSERVER_SES_TOPIC_ARNS: {wrong[0]!r} is not an SNS topic ARN "
                            "(arn:aws:sns:<region>:<account>:<topic>)")
    if bool(settings.postmark_webhook_user) != bool(settings.postmark_webhook_password):
        raise SettingsError("LISTSERVER_POSTMARK_WEBHOOK_USER and LISTSERVER_POSTMARK_WEBHOOK_PASSWORD "
                            "go together: set both, or neither to turn the Postmark hook off")
    if settings.sendgrid_webhook_public_key and not _elliptic_curve_key(settings.sendgrid_webhook_public_key):
        raise SettingsError("LISTSERVER_SENDGRID_WEBHOOK_PUBLIC_KEY must be the verification key as SendGrid "
                            "shows it (base64)")
    secret = settings.generic_webhook_secret
    if secret and not (secret.startswith("whsec_") and _base64(secret.removeprefix("whsec_"))):
        raise SettingsError("LISTSERVER_GENERIC_WEBHOOK_SECRET must be a Standard Webhooks secret: whsec_<base64>")


def _base64(text: str) -> bytes:
    """The bytes of a base64 text; empty if it is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return b""


def _elliptic_curve_key(text: str) -> bool:
    try:
        return isinstance(load_der_public_key(_base64(text)), ec.EllipticCurvePublicKey)
    except (ValueError, UnsupportedAlgorithm):
        return False


def _check_hygiene(settings: Settings) -> None:
    # A negative age or count would make a rule apply to everyone at once.
    for f in dataclasses.fields(settings):
        if f.name.startswith(("hygiene_", "health_")) and getattr(settings, f.name) < 0:
            raise SettingsError(f"LISTSERVER_{f.name.upper()} must not be negative")
    for name in ("hygiene_soft_bounces", "hygiene_batch_size"):
        if getattr(settings, name) < 1:
            raise SettingsError(f"LISTSERVER_{name.upper()} must be at least 1")


def _key_bits(key: str) -> float:
    """A rough strength estimate: length times the Shannon entropy of the key's own characters."""
    counts = Counter(key)
    return -sum(n * math.log2(n / len(key)) for n in counts.values())


def _check_secret_keys(keys: tuple[str, ...]) -> None:
    # Old keys still verify links and console sessions, so a weak one is as bad as a weak newest one.
    # The message names the key by position only: it may end up in a log.
    weak = [str(i) for i, key in enumerate(keys, 1) if len(key) < MIN_KEY_LENGTH or _key_bits(key) < MIN_KEY_BITS]
    if weak:
        which = "the key" if len(keys) == 1 else f"key {' and '.join(weak)} of {len(keys)} (newest first)"
        raise SettingsError(
            f"LISTSERVER_SECRET_KEYS: {which} {'is' if len(weak) == 1 else 'are'} too weak to sign links "
            "and console sessions "
            f"(use at least {MIN_KEY_LENGTH} random characters); make one with: {MAKE_KEY}"
        )


def _coerce(f: dataclasses.Field, raw: str) -> object:
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    try:
        if kind.startswith("tuple"):
            return tuple(_split(raw))
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(f"LISTSERVER_{f.name.upper()} must be a number, not {raw!r}") from None
    return raw


def _embedded_secret(instance: Path) -> str:
    """A random key kept in the instance folder, so embedded links survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()

