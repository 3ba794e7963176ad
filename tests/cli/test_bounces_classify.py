"""`listserver bounces classify`: what a bounce message would do, told before it does anything."""

import json
from pathlib import Path

import sqlalchemy as sa
from flask.cli import ScriptInfo

from listserver.cli import main
from listserver.models import DeliveryReport

MESSAGES = Path(__file__).parent.parent / "bounces" / "messages"


def classify(runner, app, *args):
    return runner.invoke(main, ["bounces", "classify", *map(str, args)], obj=ScriptInfo(create_app=lambda: app))


def test_one_line_per_message_and_nothing_stored(runner, app, session):
    hard, block, complaint = (MESSAGES / "postfix-user-unknown.eml", MESSAGES / "gmail-unsolicited.eml",
                              MESSAGES / "microsoft-jmrp-complaint.eml")
    result = classify(runner, app, hard, block, complaint)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{hard}: hard anna@example.net 5.1.1 550 5.1.1 <anna@example.net>: Recipient address rejected: User unknown "
        "in virtual mailbox table",
        f"{block}: other fiona@gmail.example 5.7.1 550 5.7.1 Our system has detected that this message is likely "
        "unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked. Please visit "
        "https://support.google.com/mail/?p=UnsolicitedMessageError c3si88.4 - gsmtp",
        f"{complaint}: complaint ines.k@hotmail.example - feedback abuse Microsoft JMRP",
    ]
    assert session.scalar(sa.select(sa.func.count()).select_from(DeliveryReport)) == 0


def test_json_gives_an_object_a_line_and_a_line_per_recipient(runner, app):
    result = classify(runner, app, "--json", MESSAGES / "rfc3464-multi-recipient.eml")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(line["kind"], line["recipient"], line["status"]) for line in lines] == [
        ("unknown", "arathib@vnet.ibm.com", "5.0.0"), ("ignored", "johnh@hpnjld.njd.hp.com", "4.0.0"),
        ("hard", "wsnell@sdcc13.ucsd.edu", "5.0.0")]
    assert {tuple(line) for line in lines} == {("file", "kind", "recipient", "status", "reason")}
    assert lines[2]["reason"] == "550 user unknown"


def test_an_unreadable_file_is_named_and_fails_the_run_but_not_the_others(runner, app, tmp_path):
    junk = tmp_path / "junk.eml"
    junk.write_bytes(b"\xff\xfe\x00\x80 not mail \xf0\x9f")
    result = classify(runner, app, tmp_path / "missing.eml", tmp_path, junk, MESSAGES / "qmail-no-mailbox.eml")
    assert result.exit_code == 1
    assert f"cannot read {tmp_path / 'missing.eml'}: No such file or directory" in result.stderr
    assert f"cannot read {tmp_path}: Is a directory" in result.stderr
    assert result.stdout.splitlines() == [
        f"{junk}: unknown - -",
        f"{MESSAGES / 'qmail-no-mailbox.eml'}: hard vera@qmail.example.org 5.1.1 Sorry, no mailbox here by that "
        "name. (#5.1.1)",
    ]
