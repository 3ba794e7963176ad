"""The bounce mailbox over IMAP, against a real IMAP server on loopback (pymap) with a certificate of the test's own."""

import asyncio
import datetime as dt
import imaplib
import ipaddress
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from listserver.bounces import jobs as bounce_jobs
from listserver.models import DeliveryReport
from listserver.settings import Settings, SettingsError
from tests.bounces.test_inbound import dsn, lead_magnet_return_path
from tests.conftest import SUBSCRIBER, contact_of, free_port

PYMAP = str(Path(sys.executable).parent / "pymap")
USER, PASSWORD = "demouser", "demopass"  # pymap's in-memory backend's account

VACATION = b"""From: Pia <pia@example-shop.net>\r
To: bounces@localhost\r
Subject: Out of office\r
Auto-Submitted: auto-replied\r
Message-ID: <vacation-1@example-shop.net>\r
\r
I am away until Monday.\r
"""


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key: the server's, and the only one the tests trust."""
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def imap_port(certificate) -> int:
    """pymap, an IMAP server in Python, on loopback: STARTTLS with the test's certificate, mail kept in memory."""
    cert_file, key_file = certificate
    port = free_port()
    server = subprocess.Popen([PYMAP, "--host", "127.0.0.1", "--port", str(port), "--cert", str(cert_file),
                               "--key", str(key_file), "dict", "--demo-data"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def imaps_port(certificate, imap_port) -> int:
    """The same server behind TLS from the first byte (port 993's way), as a TLS-terminating proxy gives it."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    port = free_port()
    loop = asyncio.new_event_loop()
    # A client that refuses our certificate ends its handshake; asyncio would log that with a traceback
    # formatted in this thread (Python 3.11 parses source to do so, which is not safe beside another thread's parse).
    loop.set_exception_handler(lambda loop, context: None)

    async def pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def relay(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", imap_port)
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer),
                             return_exceptions=True)

    server = loop.run_until_complete(asyncio.start_server(relay, "127.0.0.1", port, ssl=context))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield port
    loop.call_soon_threadsafe(server.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


@pytest.fixture
def trusted(certificate, monkeypatch):
    """The system's trusted certificates are, for this test, the test server's own (the edge of the world)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))


@pytest.fixture
def folder(certificate, imap_port):
    """A folder of its own in the test server's mailbox, with a space in its name."""
    name = f"Bounces {uuid.uuid4().hex[:8]}"
    with mailbox_client(certificate, imap_port) as imap:
        assert imap.create(f'"{name}"')[0] == "OK"
    return name


def mailbox_client(certificate, port) -> imaplib.IMAP4:
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    imap.starttls(ssl.create_default_context(cafile=str(certificate[0])))
    imap.login(USER, PASSWORD)
    return imap


def put(certificate, port, folder, *messages: bytes) -> None:
    """Mail delivered into the mailbox, as the MTA of a hosted mailbox does."""
    with mailbox_client(certificate, port) as imap:
        for message in messages:
            assert imap.append(f'"{folder}"', None, None, message)[0] == "OK"


def subjects_left(certificate, port, folder) -> list[str]:
    with mailbox_client(certificate, port) as imap:
        imap.select(f'"{folder}"')
        uids = imap.uid("SEARCH", None, "UNDELETED")[1][0].split()
        if not uids:
            return []
        fetched = imap.uid("FETCH", b",".join(uids).decode(), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1]
        return [part[1].decode().strip() for part in fetched if isinstance(part, tuple)]


def poll(app) -> int:
    with app.app_context():
        return bounce_jobs.poll_bounce_mailbox()


def mailbox_app(make_app, port, folder, **changes):
    return make_app(**{"imap_host": "127.0.0.1", "imap_port": port, "imap_tls": "starttls", "imap_user": USER,
                       "imap_password": PASSWORD, "imap_folder": folder, **changes})


def test_bounce_mail_in_the_mailbox_is_stored_once_taken_out_and_read(
        app, make_app, subscriber, session, process_reports, certificate, imap_port, folder, trusted):
    _, address = lead_magnet_return_path(app, session)
    huge = dsn(address, "<huge@mx.example-shop.net>").replace(b"Subject: Delivery", b"Subject: Huge delivery") \
        + b"y" * 30_000
    put(certificate, imap_port, folder, dsn(address), VACATION, huge)
    polling = mailbox_app(make_app, imap_port, folder, inbound_max_bytes=20_000)
    assert poll(polling) == 2
    # What was stored left the mailbox; what is too large waits there for a person.
    assert subjects_left(certificate, imap_port, folder) == ["Subject: Huge delivery Status Notification (Failure)"]
    process_reports(app)
    assert contact_of(session, SUBSCRIBER).status == "cleaned"
    kinds = sorted(session.scalars(sa.select(DeliveryReport.kind)).all())
    assert kinds == ["hard", "ignored"]

    put(certificate, imap_port, folder, dsn(address))  # the same bounce delivered again
    assert poll(polling) == 0
    assert session.scalar(sa.select(sa.func.count(DeliveryReport.id))) == 2
    assert len(subjects_left(certificate, imap_port, folder)) == 1


def test_implicit_tls_as_on_port_993(make_app, session, certificate, imaps_port, imap_port, folder, trusted):
    put(certificate, imap_port, folder, VACATION)
    assert poll(mailbox_app(make_app, imaps_port, folder, imap_tls="ssl")) == 1
    assert subjects_left(certificate, imap_port, folder) == []


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_an_untrusted_certificate_gets_no_password_and_nothing_is_taken(make_app, session, certificate, imap_port,
                                                                        imaps_port, folder, tls):
    put(certificate, imap_port, folder, VACATION)
    port = imap_port if tls == "starttls" else imaps_port
    with pytest.raises(ssl.SSLCertVerificationError):
        poll(mailbox_app(make_app, port, folder, imap_tls=tls))
    assert len(subjects_left(certificate, imap_port, folder)) == 1
    assert session.scalar(sa.select(sa.func.count(DeliveryReport.id))) == 0


def test_a_wrong_password_takes_nothing(make_app, session, certificate, imap_port, folder, trusted):
    put(certificate, imap_port, folder, VACATION)
    with pytest.raises(imaplib.IMAP4.error):
        poll(mailbox_app(make_app, imap_port, folder, imap_password="wrong"))
    assert len(subjects_left(certificate, imap_port, folder)) == 1


def test_no_mailbox_set_polls_nothing_and_imap_never_goes_without_tls(app):
    assert poll(app) == 0
    with pytest.raises(SettingsError, match="LISTSERVER_IMAP_TLS must be starttls or ssl"):
        Settings(imap_tls="none").completed()
