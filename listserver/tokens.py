"""Signed, purpose-bound, expiring tokens for public links and form render stamps, and the
signed return path (VERP) every email is sent from.

Most tokens are only signed: their payload (ids, versions) is readable, which is fine for links
mailed to the address's owner. Tokens handed to whoever typed an address into a form (SEALED)
are encrypted too, so their content says nothing about the address (confirmed? known?).
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import functools
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer

from listserver.errors import Expired, NotFound
from listserver.settings import Settings


class Purpose(enum.StrEnum):
    """Each purpose signs with its own salt, so a token for one cannot be used for another."""

    CONFIRM = "listserver.confirm.v1"
    PREFERENCES = "listserver.preferences.v1"
    UNSUBSCRIBE = "listserver.unsubscribe.v1"
    FORM_RENDER = "listserver.form-render.v1"
    DATA_EXPORT = "listserver.data-export.v1"
    ERASE = "listserver.erase.v1"
    PROFILE = "listserver.profile.v1"  # kept by the embed script in the host page's storage
    KEEP_SUBSCRIBED = "listserver.keep-subscribed.v1"  # the sunset email's "keep me subscribed" button


class Key:
    """The keys of token payloads. One letter each keeps links short; links already in people's
    inboxes carry these letters, so they never change."""

    CONTACT = "c"  # the contact's id
    VERSION = "v"  # the contact's confirm_version (CONFIRM) or link_version (every other link)
    FORM = "f"  # CONFIRM: the form version's id; FORM_RENDER: the form's slug
    LIST = "l"  # UNSUBSCRIBE: the list's id, None for everything
    PROVEN = "p"  # PROFILE: sent to the address itself
    WRITES = "w"  # PROFILE: answers given through it are stored
    ASKED = "a"  # PROFILE: {question key: when it was asked, Unix seconds}
    MILLISECONDS = "ms"  # FORM_RENDER: the render time's milliseconds (the signature has whole seconds)


SEALED = {Purpose.PROFILE}
_SEAL_BLOCK = 128  # sealed payloads are padded to a multiple of this: the length says nothing either


class TokenInvalid(NotFound):
    """Tampered, malformed or signed for another purpose."""

    code = "invalid_link"


class TokenExpired(Expired):
    """Genuine but too old; `payload` is what it carried, for offering a fresh link."""

    def __init__(self, payload: dict):
        super().__init__("token expired")
        self.payload = payload


@functools.lru_cache(maxsize=32)
def _serializer(secret_keys: tuple[str, ...], purpose: Purpose) -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key of the list; our setting lists the newest first.
    return URLSafeTimedSerializer(list(reversed(secret_keys)), salt=purpose.value)


@functools.lru_cache(maxsize=32)
def _sealer(secret_keys: tuple[str, ...], purpose: Purpose) -> MultiFernet:
    """Encrypts with the newest key (the first of the setting), opens with any."""
    return MultiFernet([
        Fernet(base64.urlsafe_b64encode(
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.value.encode()).derive(key.encode())))
        for key in secret_keys
    ])


@dataclass(frozen=True)
class Signer:
    settings: Settings

    def _serializer(self, purpose: Purpose) -> URLSafeTimedSerializer:
        return _serializer(self.settings.secret_keys, purpose)

    def max_age(self, purpose: Purpose) -> int:
        s = self.settings
        return {
            Purpose.CONFIRM: s.confirm_token_days * 86400,
            Purpose.PREFERENCES: s.preferences_token_days * 86400,
            Purpose.UNSUBSCRIBE: s.preferences_token_days * 86400,
            Purpose.PROFILE: s.preferences_token_days * 86400,
            # Long after the grace period: the same button brings back someone made inactive.
            Purpose.KEEP_SUBSCRIBED: s.preferences_token_days * 86400,
            Purpose.FORM_RENDER: int(s.form_max_age_hours * 3600),
            # Data rights links do their work once and soon: a day is plenty.
            Purpose.DATA_EXPORT: 86400,
            Purpose.ERASE: 86400,
        }[purpose]

    def sign(self, purpose: Purpose, payload: dict) -> str:
        if purpose in SEALED:
            data = json.dumps(payload, separators=(",", ":")).encode()
            data += b" " * (-len(data) % _SEAL_BLOCK)
            return _sealer(self.settings.secret_keys, purpose).encrypt(data).decode()
        return self._serializer(purpose).dumps(payload)

    def load(self, purpose: Purpose, token: str) -> dict:
        """The payload of a valid token, or TokenInvalid / TokenExpired."""
        return self.load_with_age(purpose, token)[0]

    def load_with_age(self, purpose: Purpose, token: str) -> tuple[dict, float]:
        """Like `load`, and how many seconds ago the token was signed."""
        if purpose in SEALED:
            return self._open(purpose, token)
        serializer = self._serializer(purpose)
        try:
            payload, signed_at = serializer.loads(token, max_age=self.max_age(purpose), return_timestamp=True)
        except SignatureExpired as exc:
            raise TokenExpired(self._expired_payload(serializer, exc)) from None
        except (BadSignature, UnicodeError, ValueError, TypeError):
            raise TokenInvalid() from None
        if not isinstance(payload, dict):
            raise TokenInvalid()
        return payload, (dt.datetime.now(dt.UTC) - signed_at).total_seconds()

    def _open(self, purpose: Purpose, token: str) -> tuple[dict, float]:
        sealer = _sealer(self.settings.secret_keys, purpose)
        try:
            payload = json.loads(sealer.decrypt(token.encode()))
            age = time.time() - sealer.extract_timestamp(token.encode())
        except (InvalidToken, UnicodeError, ValueError, TypeError):
            raise TokenInvalid() from None
        if not isinstance(payload, dict):
            raise TokenInvalid()
        if age > self.max_age(purpose):
            raise TokenExpired(payload)
        return payload, age

    @staticmethod
    def _expired_payload(serializer: URLSafeTimedSerializer, exc: SignatureExpired) -> dict:
        # The signature was genuine, only old: its payload can be trusted to offer a fresh link.
        try:
            payload = serializer.load_payload(exc.payload)
        except BadData:
            return {}
        return payload if isinstance(payload, dict) else {}


# The return path: bounces+<outbox message id>-<HMAC>@<bounce domain>. All lower case, so an MTA
# that folds the local part's case keeps it valid; at most 8 + 19 + 1 + 16 = 44 characters before
# the @ (RFC 5321 allows 64). It needs no expiry: a bounce may come days later, and what it can do
# (report on one email we sent) is bound to that email.
RETURN_PATH_LOCAL = "bounces"
RETURN_PATH_SALT = b"listserver.return-path.v1"
_RETURN_PATH_MAC_CHARS = 16  # hex: 64 bits, and each guess costs the forger an SMTP transaction
_RETURN_PATH = re.compile(rf"{RETURN_PATH_LOCAL}\+([1-9][0-9]{{0,18}})-([0-9a-f]{{{_RETURN_PATH_MAC_CHARS}}})@[^@]+")
MAX_ADDRESS_LENGTH = 254  # RFC 5321's path limit, less the angle brackets


def _return_path_mac(message_id: int, key: str) -> str:
    mac = hmac.new(key.encode(), RETURN_PATH_SALT + b":" + str(message_id).encode(), hashlib.sha256)
    return mac.hexdigest()[:_RETURN_PATH_MAC_CHARS]


def return_path(message_id: int, settings: Settings) -> str:
    """The envelope sender of an outbox message: bounces to it name the message, signed."""
    mac = _return_path_mac(message_id, settings.secret_keys[0])
    return f"{RETURN_PATH_LOCAL}+{message_id}-{mac}@{settings.return_path_domain.lower()}"


def read_return_path(address: str, settings: Settings) -> int | None:
    """The outbox message id a return path names, or None if it is not one we signed (any key).

    Case does not matter (some MTAs fold it); the domain does not either: the signature is the proof.
    """
    address = address.strip().strip("<>").lower()
    found = _RETURN_PATH.fullmatch(address) if len(address) <= MAX_ADDRESS_LENGTH else None
    if found is None:
        return None
    message_id, mac = int(found.group(1)), found.group(2)
    if any(hmac.compare_digest(mac, _return_path_mac(message_id, key)) for key in settings.secret_keys):
        return message_id
    return None
