"""Bounce mail in: raw messages as stored reports, and the SMTP/LMTP receiver for our return paths.

The receiver takes mail only for the addresses bounces come back to, and answers 250 only once
a message is stored (committed): a message it could not store is refused with a 4xx, so the
sending server keeps it and tries again. Reading it is the workers' job (intake.process).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from email import policy
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP

from listserver import tokens
from listserver.bounces.intake import Arrival
from listserver.models import ReportSource
from listserver.settings import Settings

log = logging.getLogger(__name__)

Store = Callable[[Sequence[Arrival]], int]  # stores and commits the arrivals; how many were new

MAX_EXTERNAL_ID = 200  # DeliveryReport.external_id; a longer key is stored as its digest


def arrival(content: bytes, delivered_to: str | None = None) -> Arrival:
    """A bounce message as a report to store, with a Delivered-To on top when the receiver knows it.

    The key that makes a second arrival of it count once: its Message-ID (a server that retries
    sends the same message again), else a digest of its bytes; and the address it came to, since
    one message may come to two of our return paths.
    """
    message_id = BytesHeaderParser(policy=policy.compat32).parsebytes(content).get("Message-ID", "")
    key = "".join(str(message_id).split()) or "sha256:" + hashlib.sha256(content).hexdigest()
    if delivered_to:
        key = f"{key} {delivered_to.lower()}"
        content = f"Delivered-To: {delivered_to}\r\n".encode() + content
    if len(key) > MAX_EXTERNAL_ID:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
    # What a bounce says about the address (the status, the diagnostic) is ASCII: replacing the odd
    # byte of a body that is not UTF-8 loses nothing.
    return Arrival(ReportSource.MAIL, key, content.decode("utf-8", "replace"))


def accepts(address: str, settings: Settings) -> bool:
    """Whether a bounce to this address is ours: a return path we signed, or bounces@ the bounce domain."""
    plain = f"{tokens.RETURN_PATH_LOCAL}@{settings.return_path_domain}"
    return address.lower() == plain.lower() or tokens.read_return_path(address, settings) is not None


class Receiver:
    """The aiosmtpd handler: RCPT only for our bounce addresses, each message stored before it is accepted."""

    def __init__(self, settings: Settings, store: Store):
        self.settings = settings
        self.store = store

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options: list[str]) -> str:
        if not accepts(address, self.settings):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        arrivals = [arrival(envelope.original_content, recipient) for recipient in envelope.rcpt_tos]
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.store, arrivals)
        except Exception as exc:  # noqa: BLE001 - the database is away or failed: the sender keeps it and retries
            log.warning("bounce message not stored (%s); answered 451 so the sender retries", type(exc).__name__)
            reply = "451 4.3.0 Not stored now; please try again later"
        else:
            reply = "250 2.0.0 Stored"
        # LMTP answers DATA once for each recipient (RFC 2033); SMTP once.
        return "\r\n".join([reply] * len(envelope.rcpt_tos)) if isinstance(server, LMTP) else reply


class _LMTPController(Controller):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


def serve(receiver: Receiver, host: str, port: int, *, lmtp: bool = False) -> Controller:
    """Start the receiver in a thread of its own; stop() the controller to end it."""
    controller = (_LMTPController if lmtp else Controller)(
        receiver, hostname=host, port=port, data_size_limit=receiver.settings.inbound_max_bytes)
    controller.start()
    return controller
