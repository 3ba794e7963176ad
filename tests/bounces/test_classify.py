"""The one bounce classifier: only a dead address is HARD; blocks and policy never clean anyone."""

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from listserver.bounces.classify import classify, read_status
from listserver.models import ReportKind

HARD, SOFT, OTHER, UNKNOWN, IGNORED = (ReportKind.HARD, ReportKind.SOFT, ReportKind.OTHER, ReportKind.UNKNOWN,
                                       ReportKind.IGNORED)

GMAIL_NO_SUCH_USER = (
    "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
    " 550-5.1.1 double-checking the recipient's email address for typos or\n"
    " 550-5.1.1 unnecessary spaces. Learn more at\n"
    " 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser d2si123.45 - gsmtp")


@pytest.mark.parametrize("status, text, expected", [
    # The address does not exist: proper codes.
    ("5.1.1", GMAIL_NO_SUCH_USER, HARD),
    ("5.1.1", "smtp; 550 5.1.1 <anna@example.net>: Recipient address rejected: User unknown in virtual mailbox table",
     HARD),
    ("5.1.10", "smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", HARD),
    ("5.1.10", "smtp; 556 5.1.10 Recipient address has null MX", HARD),
    ("5.1.2", "x-postfix; Host or domain name not found. Name service error for name=nope.example type=A: Host not "
              "found", HARD),
    ("5.4.4", "smtp; 554 5.4.4 [internal] Domain Lookup Failed", HARD),
    ("5.1.6", "smtp; 551 5.1.6 Recipient no longer on server", HARD),
    ("5.0.0", "smtp; 550 5.0.0 RESOLVER.ADR.ExRecipNotFound", HARD),  # Exchange's verdict, all it says
    # ... and what MTAs say for it without a proper code.
    (None, "554 delivery error: dd This user doesn't have a yahoo.com account (anna@yahoo.com) [0] - "
           "mta1133.mail.bf1.yahoo.com", HARD),
    (None, "Sorry, no mailbox here by that name. (#5.1.1)", HARD),
    ("5.0.0", "smtp; 550 Requested action not taken: User unknown", HARD),
    ("5.5.0", "smtp; 550 5.5.0 <anna@example.net>: Recipient address rejected: User unknown in local recipient "
              "table", HARD),
    (None, "550 <anna@example.net>... No such user", HARD),
    (None, "Unrouteable address", HARD),
    ("550", "Mailbox does not exist", HARD),
    ("5.0.0", "smtp; 550 Benutzer unbekannt", HARD),
    ("5.0.0", "Recipient address rejected: User unknown", HARD),  # the field's class, no reply code
    (None, "550 Addressee unknown, relay=mx.example.net", OTHER),  # "relay": doubt goes to the safe side
    (None, "550 Addressee unknown", HARD),
    # Mailbox full, temporary failures, and a disabled account (see classify.CODES for why SOFT).
    ("5.2.2", "smtp; 552 5.2.2 <anna@example.net>: user is over quota", SOFT),
    ("4.2.2", "smtp; 452-4.2.2 The email account that you tried to reach is over quota.", SOFT),
    ("5.0.0", "smtp; 552 Mailbox full", SOFT),
    (None, "552 Requested mail action aborted: exceeded storage allocation", SOFT),
    ("4.4.7", "delivery temporarily suspended: connect to mx.example.net[192.0.2.2]:25: Connection timed out", SOFT),
    ("4.1.1", "smtp; 450 4.1.1 <anna@example.net>: Recipient address rejected: User unknown", SOFT),
    ("5.2.1", "smtp; 550 5.2.1 The email account that you tried to reach is disabled.", SOFT),
    ("5.2.1", "smtp; 554 delivery error: dd Sorry your message to anna@yahoo.com cannot be delivered. This mailbox "
              "is disabled (554.30). - mta4.mail.ne1.yahoo.com", SOFT),
    ("5.1.1", "smtp; 550 5.1.1 <anna@free.example>: Recipient address rejected: Mailbox disabled for this "
              "recipient", SOFT),
    ("4.0.0", "", SOFT),
    # Temporary, however sure the words sound: a 4xx reply without a code, a 4.x.x field over a 550.
    (None, "450 <anna@example.net>: Recipient address rejected: User unknown", SOFT),
    ("4.1.1", "smtp; 550 User unknown", SOFT),
    (421, "User unknown", SOFT),  # a provider's JSON gives the reply code as a number
    ("5.4.7", "smtp; 550 5.4.7 Delivery time expired for unknown recipient", SOFT),  # routing trouble (X.4.X)
    (None, "552 Requested mail action aborted", SOFT),  # RFC 5321: exceeded storage allocation
    ("450", "Try again later", SOFT),
    # Not about the address: blocks, listings, policy, reputation, rate limits, authentication, content.
    ("5.7.1", "smtp; 550 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org", OTHER),
    ("5.7.1", "smtp; 550-5.7.1 Our system has detected that this message is likely unsolicited mail.", OTHER),
    ("5.7.26", "smtp; 550-5.7.26 This mail has been blocked because the sender is unauthenticated.", OTHER),
    ("4.7.28", "smtp; 421-4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your "
               "IP address.", OTHER),
    ("5.2.1", "smtp; 550-5.2.1 The user you are trying to contact is receiving mail at a rate that prevents "
              "additional messages from being delivered.", OTHER),
    ("4.7.0", "smtp; 421 4.7.0 [TSS04] Messages from 192.0.2.9 temporarily deferred due to unexpected volume or "
              "user complaints", OTHER),
    ("5.0.0", "smtp; 554 5.7.9 Message not accepted for policy reasons.", OTHER),
    ("5.4.1", "smtp; 550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", OTHER),
    ("5.7.1", "smtp; 550 5.7.1 Unfortunately, messages from [192.0.2.9] weren't sent. Please contact your Internet "
              "service provider since part of their network is on our block list (S3150).", OTHER),
    (None, "554 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.9", OTHER),
    ("5.0.0", "smtp; 550 Rejected by header based Anti-Spoofing policy", OTHER),
    ("5.0.0", "smtp; 554 Email rejected due to security policies - https://community.mimecast.com/docs/DOC-1369#554",
     OTHER),
    ("5.0.0", "smtp; 553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.9, because the ip is in "
              "Spamhaus's list; see http://postmaster.yahoo.com/550-bl23.html", OTHER),
    ("5.3.4", "smtp; 552 5.3.4 Message size exceeds fixed limit", OTHER),
    ("5.5.0", "smtp; 550 Message rejected because it contains spam-like content", OTHER),
    ("5.1.8", "smtp; 553 5.1.8 <news@example.org>: Sender address rejected: Domain not found", OTHER),
    ("5.0.0", "smtp; 550 Sender verify failed", OTHER),
    (None, "554 5.7.1 <anna@example.net>: Relay access denied", OTHER),
    # The status field says policy (X.7.0); the diagnostic's "no such mailbox" does not overrule it.
    ("5.7.0", "smtp; 550 5.1.1 Recipient address rejected", OTHER),
    ("4.7.1", "smtp; 451 4.7.1 Greylisting in action, please come back later", OTHER),
    ("4.7.1", "smtp; 451 4.7.1 Please try again later", OTHER),  # a policy deferral: no soft bounce of hers
    ("4.2.1", "smtp; 450 4.2.1 The user you are trying to contact is receiving mail too quickly", OTHER),
    ("5.0.0", "smtp; 550 Sender IP reverse lookup rejected", OTHER),
    ("5.7.1", "smtp; 550 5.7.1 Email rejected per DMARC policy for example.org", OTHER),
    ("5.7.1", "smtp; 550 5.7.1 Requested action not taken: mailbox unavailable", OTHER),
    ("5.0.0", "x-postfix; mail for example.net loops back to myself", OTHER),  # our routing, not the address
    # When policy words and user-unknown words meet, OTHER wins.
    ("5.1.1", "smtp; 550 5.1.1 User unknown (blocked by the content filter)", OTHER),
    ("5.1.1", "smtp; 550 5.1.1 <anna@example.net>: Recipient address rejected: listed at bl.spamcop.net", OTHER),
    (None, "550 No such user - psbl", OTHER),
    # Doubt: no code that says it and no words that do.
    ("5.0.0", "smtp; 550 Requested action not taken: mailbox unavailable", UNKNOWN),
    ("550", "", UNKNOWN),
    ("5.1.3", "smtp; 553 5.1.3 Bad recipient address syntax", UNKNOWN),
    (None, "", UNKNOWN),
    (None, "Thank you for your message", UNKNOWN),
    ("5.0.0", "Delivery failed; retry limit reached", UNKNOWN),  # permanent: "retry" makes it no soft bounce
])
def test_what_each_reply_means_for_the_address(status, text, expected):
    assert classify(status, text) is expected


@pytest.mark.parametrize("local_part", ["spam", "abuse", "blocked.user", "policy", "security", "relay"])
def test_words_in_the_address_or_host_do_not_make_a_block(local_part):
    text = (f"smtp; 550 5.1.1 <{local_part}@example.net>: Recipient address rejected: User unknown in virtual "
            "mailbox table")
    assert classify("5.1.1", text) is HARD
    assert classify(None, f"host mx1.antispam-gateway.example.net[192.0.2.2] said: 550 <{local_part}@x.example> "
                          "No such user (in reply to RCPT TO command)") is HARD


@pytest.mark.parametrize("link", ["https://help.example.net/kb/nonexistent", "www.example.net/kb/nonexistent",
                                  "(http://www.example.net/kb/nonexistent)"])
def test_words_in_a_help_link_do_not_make_a_dead_address(link):
    # A help page's path says whatever its owner chose; read as words, it would clean a person.
    assert classify("5.0.0", f"smtp; 550 Requested action not taken: mailbox unavailable, see {link}") is UNKNOWN
    assert classify(None, f"550 Mailbox unavailable {link} for details") is UNKNOWN


@pytest.mark.parametrize("status, text, hint, expected", [
    # SES says Permanent for a block: still not the address.
    ("5.7.1", "smtp; 550 5.7.1 Message blocked due to poor reputation", "Permanent", OTHER),
    (None, "", "Permanent", UNKNOWN),  # a provider's verdict alone never cleans
    ("5.1.1", "smtp; 550 5.1.1 user unknown", "Permanent", HARD),
    (None, "", "Transient", SOFT),
    ("5.1.1", "smtp; 550 5.1.1 user unknown", "Transient", SOFT),  # the provider says it may come back
    (None, "", "MessageTooLarge", OTHER),
    (None, "", "ContentRejected", OTHER),
    (None, "", "SpamNotification", OTHER),
    (None, "", "DMARCPolicy", OTHER),
    (None, "", "blocked", OTHER),
    ("5.1.1", "smtp; 550 5.1.1 user unknown", "blocked", OTHER),
    (None, "", "MailboxFull", SOFT),
    (None, "", "AutoResponder", IGNORED),
    ("5.1.1", "smtp; 550 5.1.1 user unknown", "OnAccountSuppressionList", UNKNOWN),
    (None, "", "HardBounce", UNKNOWN),
])
def test_a_providers_verdict_only_makes_the_result_milder(status, text, hint, expected):
    assert classify(status, text, hint=hint) is expected


@pytest.mark.parametrize("status, text, expected", [
    ("5.1.1", "smtp; 550 5.1.1 user unknown", "5.1.1"),
    ("5.0.0", GMAIL_NO_SUCH_USER, "5.1.1"),  # the field said only 5.0.0; the diagnostic says more
    (None, "Sorry, no mailbox here by that name. (#5.1.1)", "5.1.1"),
    ("550", "Mailbox does not exist", "550"),
    (None, "554 delivery error: dd This user doesn't have a yahoo.com account", "554"),
    (None, "nothing here, host 192.5.1.10.4 said", None),  # an IP address is no status code
    (None, None, None),
    (550, None, "550"),
])
def test_the_status_a_report_states(status, text, expected):
    assert read_status(status, text) == expected


@pytest.mark.parametrize("junk", [
    b"\xff\xfe\x00\x01binary\x80", "x" * 5_000_000, "a." * 100_000, "@" * 100_000, "5." * 100_000,
    "-" * 100_000, "\u202e\U0001f642" * 10_000, 550, 5.11, True, ["5.1.1"], {"status": "5.1.1"}, object(),
])
def test_junk_never_raises_and_never_cleans(junk):
    assert classify(junk, junk) in (UNKNOWN, OTHER, SOFT)
    assert classify(None, junk, hint=junk) in (UNKNOWN, OTHER, SOFT, IGNORED)


@hsettings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=20)), st.one_of(st.none(), st.text(max_size=2000)),
       st.one_of(st.none(), st.text(max_size=30)))
def test_any_text_gets_a_kind(status, text, hint):
    assert classify(status, text, hint=hint) in ReportKind


@hsettings(max_examples=200, deadline=None)
@given(st.sampled_from(["blocked", "spam", "policy", "reputation", "rate limited", "listed at zen.spamhaus.org",
                        "DMARC", "too many connections", "Message rejected due to content"]),
       st.sampled_from(["User unknown", "No such user", "mailbox does not exist", "Recipient not found"]),
       st.sampled_from(["5.1.1", "5.0.0", "5.5.0", None, "550"]))
def test_policy_words_beside_user_unknown_words_are_never_hard(policy_words, unknown_words, status):
    assert classify(status, f"550 {unknown_words}; {policy_words}") is OTHER
    assert classify(status, f"550 {policy_words}: {unknown_words}") is OTHER
