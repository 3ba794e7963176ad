"""Turning rendered emails into MIME messages and handing them to SMTP or the local mailbox."""

from __future__ import annotations

import email.policy
import email.utils
import os
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from listserver.emails import Rendered
from listserver.models import OutboxMessage
from listserver.settings import Settings


# Long List-Unsubscribe URLs must stay on one line: folding would turn them into encoded-words.
_POLICY = email.policy.SMTP.clone(max_line_length=998)


class TransientMailError(Exception):
    """Sending failed in a way worth retrying (connection refused, 4xx reply)."""


class PermanentMailError(Exception):
    """The relay refused the message for good (5xx reply)."""


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def build_message(outbox: OutboxMessage, rendered: Rendered, settings: Settings) -> EmailMessage:
    msg = EmailMessage(policy=_POLICY)
    _, from_address = email.utils.parseaddr(settings.mail_from)
    domain = from_address.rpartition("@")[2] or "localhost"
    msg["From"] = settings.mail_from
    msg["To"] = outbox.recipient
    msg["Subject"] = rendered.subject
    msg["Date"] = email.utils.format_datetime(outbox.created_at)
    # Stable per outbox row, so a receiving server can tell a retried delivery from a new email.
    msg["Message-ID"] = f"<{outbox.idempotency_key}.{outbox.id}@{domain}>"
    msg["List-Unsubscribe"] = f"<{rendered.unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Listserver-Kind"] = outbox.kind
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


class SMTPTransport:
    def __init__(self, settings: Settings):
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
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
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentMailError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise TransientMailError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentMailError("recipient refused") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientMailError(type(exc).__name__) from exc


class MailboxTransport:
    """The embedded mode's outbox: one .eml file per email, readable in the console."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").replace("/", "_") + ".eml"
        final = self.directory / name
        tmp = final.with_suffix(".tmp")
        tmp.write_bytes(message.as_bytes())
        os.replace(tmp, final)


def make_transport(settings: Settings) -> Transport:
    if settings.smtp_host:
        return SMTPTransport(settings)
    return MailboxTransport(settings.mail_dir)
