"""Turning rendered emails into MIME messages and handing them to SMTP or the local mailbox."""

from __future__ import annotations

import email.policy
import email.utils
import os
import smtplib
import ssl
from collections.abc import Iterable
from email.header import Header
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from listserver.bounces.smtp import Refusal
from listserver.mail.emails import Rendered
from listserver.models import OutboxMessage
from listserver.settings import Settings

# Long List-Unsubscribe URLs must stay on one line: folding would turn them into encoded-words.
_POLICY = email.policy.SMTP.clone(max_line_length=998)


class MailError(Exception):
    """Sending failed; `refusal` is the server's reply when it refused the recipient or the message."""

    def __init__(self, reason: str, refusal: Refusal | None = None):
        super().__init__(reason)
        self.refusal = refusal


class TransientMailError(MailError):
    """Sending failed in a way worth retrying (connection refused, 4xx reply)."""


class PermanentMailError(MailError):
    """The relay refused the message for good (5xx reply)."""


class Transport(Protocol):
    def send(self, message: EmailMessage, return_path: str) -> None:
        """Send `message` with `return_path` as its envelope sender (SMTP MAIL FROM)."""


class ListId:
    """The RFC 2919 List-Id header, `"List name" <list-key.host>`, written as that RFC has it.

    The email policy would refold the name as unstructured text: specials left bare in the phrase
    and, with our long line limit, encoded words far over RFC 2047's 75 characters.
    """

    name = "List-Id"

    def __init__(self, list_key: str, list_name: str, base_url: str):
        self.identifier = f"{list_key}.{ascii_domain(urlsplit(base_url).hostname or 'localhost')}"
        self.phrase = " ".join(list_name.split())  # no line breaks from a marketer's list name

    def __str__(self) -> str:
        return f"{self.phrase} <{self.identifier}>"

    def fold(self, *, policy) -> str:
        if not self.phrase:
            value = f"<{self.identifier}>"
        elif self.phrase.isascii():
            value = email.utils.formataddr((self.phrase, self.identifier))  # quoted if it has specials
        else:
            encoded = Header(self.phrase, "utf-8", header_name=self.name).encode(linesep=policy.linesep)
            value = f"{encoded} <{self.identifier}>"
        return f"{self.name}: {value}{policy.linesep}"


def ascii_domain(domain: str) -> str:
    """A domain in IDNA (punycode), as email-validator converts it."""
    if domain.isascii():
        return domain
    try:
        return validate_email(f"postmaster@{domain}", check_deliverability=False).ascii_domain
    except EmailNotValidError as exc:
        raise PermanentMailError("the domain has no IDNA (punycode) form") from exc


def transmittable_address(address: str) -> str:
    """The address with its domain in IDNA, so that only a non-ASCII local part needs SMTPUTF8."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{ascii_domain(domain)}"


def needs_smtputf8(message: EmailMessage) -> bool:
    """Whether an envelope address is not ASCII, as smtplib decides it."""
    addresses = email.utils.getaddresses([str(message["From"]), str(message["To"])])
    return not all(address.isascii() for _, address in addresses)


def build_message(outbox: OutboxMessage, rendered: Rendered, settings: Settings) -> EmailMessage:
    recipient = transmittable_address(outbox.recipient)
    # UTF-8 headers only when the local part needs them; every relay takes the rest as ASCII.
    msg = EmailMessage(policy=_POLICY if recipient.isascii() else _POLICY.clone(utf8=True))
    msg["From"] = settings.mail_from
    msg["To"] = recipient
    msg["Subject"] = rendered.subject
    msg["Date"] = email.utils.format_datetime(outbox.created_at)
    # Stable per outbox row, so a receiving server can tell a retried delivery from a new email.
    msg["Message-ID"] = f"<{outbox.idempotency_key}.{outbox.id}@{settings.mail_domain}>"
    msg["List-Unsubscribe"] = f"<{rendered.unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if rendered.list_key:
        msg["List-Id"] = ListId(rendered.list_key, rendered.list_name, settings.base_url)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Listserver-Kind"] = outbox.kind
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


class SMTPTransport:
    def __init__(self, settings: Settings):
        self.settings = settings

    def send(self, message: EmailMessage, return_path: str) -> None:
        s = self.settings
        try:
            if s.smtp_tls == "ssl":
                smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            with smtp:
                if s.smtp_tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                smtp.ehlo_or_helo_if_needed()
                if needs_smtputf8(message) and not smtp.has_extn("smtputf8"):
                    # No retry can help: this relay will never take the address.
                    raise PermanentMailError("the relay does not offer SMTPUTF8, which an address with "
                                             "non-ASCII characters before the @ needs")
                smtp.send_message(message, from_addr=transmittable_address(return_path))
        except smtplib.SMTPDataError as exc:
            raise _refused("DATA", exc.smtp_code, exc.smtp_error, str(message["To"])) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            [(recipient, (code, reply))] = exc.recipients.items()  # one recipient per email
            raise _refused("RCPT", code, reply, recipient) from exc
        except smtplib.SMTPResponseException as exc:
            error = PermanentMailError if 500 <= exc.smtp_code < 600 else TransientMailError
            raise error(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientMailError(type(exc).__name__) from exc


def _refused(stage: str, code: int, reply: bytes | str, recipient: str) -> MailError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    error = PermanentMailError if 500 <= code < 600 else TransientMailError
    return error(f"{code} {text!r}", Refusal(stage, code, text, recipient))


class MailboxTransport:
    """The embedded mode's outbox: one .eml file per email, readable in the console."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: EmailMessage, return_path: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").replace("/", "_") + ".eml"
        final = self.directory / name
        tmp = final.with_suffix(".tmp")
        # The final MTA writes the envelope sender on top of the message it delivers; so does this one.
        return_path_header = f"Return-Path: <{return_path}>{message.policy.linesep}".encode()
        tmp.write_bytes(return_path_header + message.as_bytes())
        os.replace(tmp, final)


def make_transport(settings: Settings) -> Transport:
    if settings.smtp_host:
        return SMTPTransport(settings)
    return MailboxTransport(settings.mail_dir)


def remove_mailbox_copies(directory: Path, messages: Iterable[tuple[str, int]]) -> None:
    """Delete the copies MailboxTransport kept of these (idempotency key, id) outbox messages."""
    if not directory.is_dir():
        return
    for idempotency_key, message_id in messages:
        # Named after the Message-ID (see MailboxTransport.send); .tmp is a write cut short.
        for path in directory.glob(f"{idempotency_key}.{message_id}@*"):
            if path.suffix in (".eml", ".tmp"):
                path.unlink(missing_ok=True)
