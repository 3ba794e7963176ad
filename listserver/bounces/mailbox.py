"""The bounce mailbox: bounce mail an MTA delivered into a mailbox, taken over IMAP (TLS only) and stored.

For setups where the return path's domain is a hosted mailbox rather than `listserver inbound`.
A message leaves the mailbox only after it is stored (committed): a poll cut short takes it again
next time, and its Message-ID (else a digest) makes it count once.
"""

from __future__ import annotations

import contextlib
import imaplib
import ssl

from listserver.bounces import receiver
from listserver.settings import Settings

BATCH = 100  # messages fetched, stored and deleted per round
TIMEOUT = 30.0  # seconds for each network operation


class MailboxError(Exception):
    """The IMAP server said no (to the login, the folder, a fetch); the message says what it answered to."""


def poll(settings: Settings, store: receiver.Store) -> int:
    """Store every message waiting in the bounce folder, then delete it there; how many were stored.

    Messages over inbound_max_bytes are left where they are, for a person to look at.
    """
    with _connect(settings) as imap:
        _ok(imap.login(settings.imap_user, settings.imap_password), "LOGIN")
        _ok(imap.select(_quoted(settings.imap_folder)), "SELECT")
        uids = _ok(imap.uid("SEARCH", None, "UNDELETED", "SMALLER", str(settings.inbound_max_bytes + 1)),
                   "SEARCH")[0].split()
        stored = 0
        for start in range(0, len(uids), BATCH):
            batch = b",".join(uids[start:start + BATCH]).decode()
            fetched = _ok(imap.uid("FETCH", batch, "(BODY.PEEK[])"), "FETCH")
            stored += store([receiver.arrival(part[1]) for part in fetched if isinstance(part, tuple)])
            _ok(imap.uid("STORE", batch, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
            _ok(imap.expunge(), "EXPUNGE")
        return stored


def _connect(settings: Settings) -> imaplib.IMAP4:
    # The password goes only over TLS to a server whose certificate the system trusts for that name.
    context = ssl.create_default_context()
    if settings.imap_tls == "ssl":
        return imaplib.IMAP4_SSL(settings.imap_host, settings.imap_port, ssl_context=context, timeout=TIMEOUT)
    imap = imaplib.IMAP4(settings.imap_host, settings.imap_port, timeout=TIMEOUT)
    try:
        imap.starttls(context)
    except BaseException:
        with contextlib.suppress(OSError):  # a failed handshake may have closed the socket already
            imap.shutdown()
        raise
    return imap


def _ok(answer: tuple[str, list], command: str) -> list:
    status, data = answer
    if status != "OK":
        raise MailboxError(f"the IMAP server answered {command} with {status}")
    return data


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
