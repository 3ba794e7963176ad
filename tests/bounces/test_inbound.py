"""Bounce mail in: `listserver inbound` (SMTP and LMTP) for our return paths, and `listserver bounces ingest`."""

import os
import signal
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.cli import ScriptInfo

from listserver.bounces import receiver
from listserver.cli import main
from listserver.cli.bounces import EX_TEMPFAIL, store
from listserver.models import DeliveryReport, EmailKind, OutboxMessage, ReportSource
from listserver.tokens import return_path
from tests.conftest import SUBSCRIBER, contact_of, free_port

LISTSERVER = str(Path(sys.executable).parent / "listserver")
DATABASE_AWAY = "postgresql://postgres@127.0.0.1:1/listserver"  # nothing listens there


def dsn(to: str, message_id: str = "<b1@mx.example-shop.net>", status: str = "5.1.1",
        diagnostic: str = "550 5.1.1 The email account that you tried to reach does not exist") -> bytes:
    """A delivery status notification as an MTA sends it to the return path, without the original's headers."""
    return f"""From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example-shop.net>
To: {to}
Subject: Delivery Status Notification (Failure)
Message-ID: {message_id}
Date: Tue, 1 Dec 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example-shop.net

Final-Recipient: rfc822; {SUBSCRIBER}
Action: failed
Status: {status}
Diagnostic-Code: smtp; {diagnostic}

--B--
""".replace("\n", "\r\n").encode()


def lead_magnet_return_path(app, session) -> tuple[int, str]:
    message_id = session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.kind == EmailKind.LEAD_MAGNET))
    # At a real deployment's domain (the tests' mail_from is at localhost); the signature names the email.
    return message_id, return_path(message_id, app.config["SETTINGS"].replace(bounce_domain="bounces.example.net"))


def stored(session) -> list[DeliveryReport]:
    session.expire_all()
    return session.scalars(sa.select(DeliveryReport).order_by(DeliveryReport.id)).all()


@pytest.fixture
def receive(app):
    """Start a receiver for an app (SMTP by default) on a free port; stopped after the test."""
    controllers = []

    def _start(for_app=app, lmtp=False) -> int:
        handler = receiver.Receiver(for_app.config["SETTINGS"], lambda arrivals: store(for_app, arrivals))
        controllers.append(receiver.serve(handler, "127.0.0.1", free_port(), lmtp=lmtp))
        return controllers[-1].port

    yield _start
    for controller in controllers:
        controller.stop()


def test_a_bounce_to_a_return_path_is_stored_with_its_address_and_cleans_the_person(
        app, subscriber, session, receive, process_reports):
    message_id, address = lead_magnet_return_path(app, session)
    with smtplib.SMTP("127.0.0.1", receive(), timeout=10) as smtp:
        assert smtp.sendmail("<>", [address.upper()], dsn(address)) == {}  # an MTA that folded its case
    [report] = stored(session)
    assert report.source == ReportSource.MAIL
    assert report.raw.startswith(f"Delivered-To: {address.upper()}\r\nFrom: Mail Delivery Subsystem")
    process_reports(app)
    [report] = stored(session)
    # The return path alone names the email (the bounce carries none of its headers).
    assert report.outbox_message_id == message_id and report.kind == "hard"
    assert contact_of(session, SUBSCRIBER).status == "cleaned"


@pytest.mark.parametrize("address", [
    "someone@localhost", "postmaster@localhost", "bounces+1-0123456789abcdef@localhost", SUBSCRIBER,
    "bounces@elsewhere.example",
])
def test_mail_for_any_other_address_is_refused_at_rcpt_and_nothing_is_stored(app, session, receive, address):
    with smtplib.SMTP("127.0.0.1", receive(), timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("spammer@example-shop.net", [address], dsn(address))
    assert refused.value.recipients[address][0] == 550
    assert stored(session) == []


def test_the_plain_bounce_address_takes_mail_and_a_retried_message_is_stored_once(app, session, receive):
    port = receive()
    for _ in range(2):  # the sender did not hear our 250 and sends again
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            assert smtp.sendmail("<>", ["Bounces@LOCALHOST"], dsn("bounces@localhost")) == {}
    assert len(stored(session)) == 1


def test_a_message_over_the_size_limit_is_refused(make_app, session, receive):
    small = make_app(inbound_max_bytes=20_000)
    port = receive(small)
    huge = dsn("bounces@localhost") + (b"y" * 998 + b"\r\n") * 30
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:  # says its size first: refused at once
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail("<>", ["bounces@localhost"], huge)
    assert refused.value.smtp_code == 552
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:  # does not: refused after the data
        smtp.ehlo()
        smtp.mail("<>")
        smtp.rcpt("bounces@localhost")
        assert smtp.data(huge)[0] == 552
    assert stored(session) == []


def test_with_the_database_away_it_answers_451_so_the_sender_keeps_the_message(
        make_app, app, subscriber, session, receive):
    _, address = lead_magnet_return_path(app, session)
    away = make_app(database_url=DATABASE_AWAY)
    with smtplib.SMTP("127.0.0.1", receive(away), timeout=30) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as later:
            smtp.sendmail("<>", [address], dsn(address))
    assert later.value.smtp_code == 451
    with smtplib.SMTP("127.0.0.1", receive(app), timeout=10) as smtp:  # the sender's retry, once it is back
        assert smtp.sendmail("<>", [address], dsn(address)) == {}
    assert len(stored(session)) == 1


def test_lmtp_answers_for_each_recipient_and_stores_a_copy_for_each(app, subscriber, session, receive):
    magnet_id, magnet_path = lead_magnet_return_path(app, session)
    other_path = return_path(magnet_id - 1, app.config["SETTINGS"])  # an earlier email's
    with smtplib.LMTP("127.0.0.1", receive(lmtp=True), timeout=10) as lmtp:
        assert lmtp.ehlo()[0] == 250  # smtplib's LMTP says LHLO
        lmtp.mail("<>")
        assert lmtp.rcpt(magnet_path)[0] == lmtp.rcpt(other_path)[0] == 250
        assert lmtp.rcpt("someone@localhost")[0] == 550
        # smtplib reads one reply to DATA; LMTP gives one per accepted recipient (RFC 2033).
        assert lmtp.data(dsn(magnet_path)) == (250, b"2.0.0 Stored")
        assert lmtp.getreply() == (250, b"2.0.0 Stored")
    assert sorted(r.raw.split("\r\n", 1)[0] for r in stored(session)) == sorted(
        f"Delivered-To: {a}" for a in (magnet_path, other_path))


def test_the_inbound_command_receives_until_it_is_stopped(app, subscriber, session, database_url, tmp_path):
    _, address = lead_magnet_return_path(app, session)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTSERVER_")}
    env.update(LISTSERVER_DATABASE_URL=database_url, LISTSERVER_SECRET_KEYS="test-secret-new,test-secret-old",
               LISTSERVER_INSTANCE_PATH=str(tmp_path / "inbound"))
    command = subprocess.Popen([LISTSERVER, "inbound", "--port", str(port)], env=env, stderr=subprocess.PIPE,
                               text=True)
    try:
        # It says so once it listens (after aiosmtpd's own log lines).
        assert any(f"on 127.0.0.1:{port}" in line for line in iter(command.stderr.readline, ""))
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            assert smtp.sendmail("<>", [address], dsn(address)) == {}
    finally:
        command.send_signal(signal.SIGTERM)
        assert command.wait(timeout=30) == 0
    assert len(stored(session)) == 1


def invoke(app, *args, **kwargs):
    return app.test_cli_runner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app), **kwargs)


def test_ingest_stores_each_file_once_and_says_how_many(app, session, tmp_path):
    first, second = tmp_path / "first.eml", tmp_path / "second.eml"
    first.write_bytes(dsn("bounces@localhost", "<one@mx>"))
    second.write_bytes(dsn("bounces@localhost", "<two@mx>").replace(b"Message-ID: <two@mx>\r\n", b""))
    result = invoke(app, "bounces", "ingest", str(first), str(second))
    assert result.exit_code == 0 and result.output == "2 stored, 0 stored before, 0 not taken\n"
    again = invoke(app, "bounces", "ingest", str(first), str(second))
    assert again.exit_code == 0 and again.output == "0 stored, 2 stored before, 0 not taken\n"
    keys = [r.external_id for r in stored(session)]
    assert keys[0] == "<one@mx>" and keys[1].startswith("sha256:")  # no Message-ID: a digest of its bytes


def test_ingest_reads_one_message_from_an_mta_pipe(app, session):
    result = invoke(app, "bounces", "ingest", input=dsn("bounces@localhost", "<piped@mx>"))
    assert result.exit_code == 0 and result.output.startswith("1 stored")
    result = invoke(app, "bounces", "ingest", "-", input=dsn("bounces@localhost", "<piped2@mx>"))
    assert result.exit_code == 0 and result.output.startswith("1 stored")
    assert [r.external_id for r in stored(session)] == ["<piped@mx>", "<piped2@mx>"]


def test_ingest_names_what_it_could_not_take_and_stores_the_rest(make_app, app, session, tmp_path):
    small = make_app(inbound_max_bytes=5_000)
    good, big = tmp_path / "good.eml", tmp_path / "big.eml"
    good.write_bytes(dsn("bounces@localhost", "<good@mx>"))
    big.write_bytes(dsn("bounces@localhost", "<big@mx>") + b"y" * 10_000)
    result = invoke(small, "bounces", "ingest", str(good), str(tmp_path / "missing.eml"), str(big), str(tmp_path))
    assert result.exit_code == 1
    assert "cannot read " + str(tmp_path / "missing.eml") in result.output
    assert "big.eml is larger than 5000 bytes" in result.output
    assert result.output.endswith("1 stored, 0 stored before, 3 not taken\n")
    assert [r.external_id for r in stored(session)] == ["<good@mx>"]


def test_ingest_with_the_database_away_exits_75_so_the_mta_tries_again(make_app, tmp_path):
    message = tmp_path / "bounce.eml"
    message.write_bytes(dsn("bounces@localhost"))
    result = invoke(make_app(database_url=DATABASE_AWAY), "bounces", "ingest", str(message))
    assert result.exit_code == EX_TEMPFAIL and "database is unreachable" in result.output
