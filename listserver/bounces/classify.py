"""The one bounce classifier every input uses: an RFC 3463 status, an SMTP reply and its text -> a ReportKind.

Only HARD cleans a person at once, so HARD means the address itself is gone: the mailbox or its domain
does not exist. Anything about the sender, the message or the sending server (blocks, spam, policy,
reputation, listings, rate limits, authentication, content, size) is OTHER, even when the same reply
also says "user unknown": filters often hide a block behind that phrase, and a wrong OTHER costs a few
emails while a wrong HARD loses a subscriber. In doubt: UNKNOWN, which never cleans either.
"""

from __future__ import annotations

import re

from listserver.models import ReportKind

# A diagnostic longer than this is junk or a whole message: its start says what matters.
TEXT_LIMIT = 4000

ENHANCED_CODE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
REPLY_CODE = re.compile(r"(?<![\d.])([245]\d\d)(?=[ :\-]|$)")

def _phrases(*phrases: str) -> re.Pattern[str]:
    """One pattern for phrases that each begin a word. Python's re tries every branch at every position;
    grouped under their first letter, a long list costs little more than a short one."""
    groups: dict[str, list[str]] = {}
    for phrase in phrases:
        first = phrase[0] if phrase[0].isalpha() else ""
        groups.setdefault(first, []).append(phrase[len(first):])
    return re.compile(r"\b(?:" + "|".join(f"{first}(?:{'|'.join(rests)})" for first, rests in groups.items()) + ")")


# Evidence read before anything is taken out of the text: block lists name themselves in host names
# and URLs, and Exchange gives its verdict as a dotted code.
LISTING_SERVICES = ("spamhaus", "spamcop", "sorbs.net", "barracudacentral", "uceprotect", "senderscore", "abuseat",
                    "invaluement", "spamrats", "surbl", "uribl", "psbl", "mailspike", "resolver.rst.")
EXCHANGE_NOT_FOUND = re.compile(r"resolver\.adr\.(?:ex)?recip(?:ient)?notfound")

# Addresses, links, host names and codes carry whatever words their owners chose ("spam@", "mx.antispam.example",
# a help page's path): taken out before reading words. A host needs three labels here so that two sentences
# run together ("exist.please") stay words. Linear, whatever the junk.
NOT_WORDS = re.compile(r"(?<![\w.-])(?:[a-z0-9-]{1,63}\.){2,}[a-z]{2,63}(?![\w-])|#?\d[\d.:-]*")
SEPARATORS = str.maketrans("<>()[]{}:;,\"", " " * 12)

# Not the address's fault: the sender, the sending server, the message, or how much we send.
POLICY_WITHIN = ("spam", "reputation", "phish", "spoof", "malware", "authenticat", "blacklist", "black list",
                 "denylist", "deny list", "ratelimit", "rate-limit", "unsolicited")
POLICY = _phrases(
    r"block", r"banned\b", r"denied\b", r"bulk\b", r"junk\b", r"polic(?:y|ies)\b", r"prohibit",
    r"not (?:permitted|allowed|authori[sz]ed)\b", r"unauthori[sz]ed\b", r"forbidden\b", r"restrict",
    r"(?:rbl|dnsbl|rhsbl)s?\b", r"listed (?:on|at|by)\b", r"(?:is|are|currently|been|ip) listed\b", r"delist",
    r"virus", r"content\b(?!-)", r"attachment", r"filter", r"quarantin", r"dmarc\b", r"spf\b", r"dkim\b", r"relay",
    r"reverse (?:dns|lookup|mapping|resolution)", r"rdns\b", r"ptr\b", r"helo\b", r"ehlo\b",
    r"sender'?s? (?:address|domain|verif|ip|is |rejected|not|mx)", r"unknown sender\b", r"sender unknown\b",
    r"complain", r"abuse\b", r"rate limit", r"unusual rate\b", r"at a rate\b", r"rate of\b", r"too many\b",
    r"too (?:quickly|fast)\b", r"throttl", r"volume\b", r"frequency\b", r"slow down\b", r"sending (?:quota|limit)",
    r"daily (?:user )?(?:sending )?(?:quota|limit)", r"gr[ae]y ?list", r"(?:white|allow) ?list", r"challenge",
    r"(?:start)?tls\b", r"encrypt", r"(?:message|mail|email|ip|client host|host|connection) (?:was |has been |is )?"
    r"(?:rejected|refused)", r"rejected (?:due to|for|because|as|by)\b",
    r"not accept(?:ed|ing)? (?:e?mails?|messages?|connections?) from", r"will not be accepted from\b",
    r"does not accept (?:e?mails?|messages?) from\b", r"security\b", r"backscatter", r"message (?:size|is too|too)\b",
    r"size of (?:the |this |your )?message", r"message exceeds\b",
    r"exceeds (?:the )?(?:maximum )?(?:allowed )?(?:message )?size", r"too (?:large|big)\b", r"loop", r"permission",
)

MAILBOX_FULL = _phrases(
    r"mailbox (?:is )?full\b", r"(?:mail ?box|inbox|mail ?folder|account) (?:is |was )?(?:full|over)",
    r"full mailbox\b", r"over ?quota\b", r"quota\b",
    r"exceeded (?:its |the |his |her |their )?(?:storage|quota|mailbox)",
    r"insufficient (?:system )?(?:storage|disk|space)", r"out of (?:storage|space)",
    r"storage (?:space|allocation|limit)", r"no space\b", r"disk full\b", r"mailbox size\b", r"bo[iî]te pleine\b",
    r"postfach (?:ist )?voll\b", r"speicherplatz\b",
)

# The mailbox exists but takes no mail now (RFC 3463 X.2.1); CODES says why that is SOFT.
DISABLED = _phrases(r"(?:disabled|deactivated|inactive|suspended|locked|frozen|not active)\b")

ADDRESS_GONE = _phrases(
    r"user unknown\b", r"unknown (?:user|recipient|mailbox|address|account|local[- ]?part|alias)",
    r"(?:recipient|mailbox|address|addressee|account|alias) (?:is )?unknown\b",
    r"no such (?:user|recipient|mailbox|account|address|person|local user)",
    r"no (?:mailbox|account) (?:here|by that name)",
    r"mailbox not found\b", r"(?:user|recipient|mailbox|address|account|addressee)s? (?:was |were )?not found\b",
    r"(?:user|recipient|mailbox|address|account|alias|domain|email account)(?: name)? (?:does not|doesn't|did not|"
    r"didn't) exist", r"does ?n[o']t exist\b", r"non-?existent\b", r"not exist",
    r"invalid (?:recipient|mailbox|user|account)", r"(?:recipient|mailbox) (?:address )?(?:is )?invalid\b",
    r"not a valid (?:user|mailbox|recipient|account)", r"unrou?te?able (?:mail )?(?:address|domain)\b",
    r"not our customer\b", r"does ?n[o']t have an? (?:\S+ )?account\b", r"(?:could ?n[o']t|can ?not|can't) be found\b",
    r"no longer (?:valid|exists|in use|active|available)\b",
    r"account (?:has been |was |is )?(?:closed|terminated|deleted|removed|expired)\b", r"address (?:is )?no longer\b",
    r"unknown or illegal alias\b", r"bad destination (?:mailbox|system)", r"host (?:or domain name )?not found\b",
    r"domain (?:name )?not found", r"no such domain\b", r"nxdomain\b", r"null ?mx\b",
    r"does not accept (?:e-?)?mail\b", r"no (?:mx|mail host|mail server|mail exchanger)\b",
    r"unbekannt\b", r"existiert nicht\b", r"inconnu\b", r"n'existe pas\b", r"no existe\b", r"sconosciuto\b",
    r"non esiste\b",
)

TEMPORARY = _phrases(r"temporar", r"try (?:again )?later\b", r"try again\b", r"deferr", r"timed? ?out\b", r"delay",
                     r"retry", r"transient\b", r"come back later\b", r"busy\b")

# What each RFC 3463 code says on its own, where it is specific enough to decide.
CODES = {
    "5.1.1": ReportKind.HARD,  # bad destination mailbox address: no such mailbox
    "5.1.2": ReportKind.HARD,  # bad destination system: no such domain
    # X.1.6 "mailbox has moved, no forwarding address": the address was valid and takes mail no more, and
    # nothing says it ever will again. The person is not reachable there; a new address is theirs to give.
    "5.1.6": ReportKind.HARD,
    "5.1.10": ReportKind.HARD,  # RFC 7505 null MX: the domain says it takes no mail at all
    "5.4.4": ReportKind.HARD,  # unable to route: the domain has no mail host
    "5.1.7": ReportKind.OTHER,  # bad sender's mailbox address syntax: ours, not theirs
    "5.1.8": ReportKind.OTHER,  # bad sender's system address: ours
    # X.2.1 "mailbox disabled" is SOFT, not HARD. RFC 3463 says it may be transient, and it is in practice:
    # Yahoo and Gmail say it for an account left unused, which its owner brings back by signing in, and for
    # one suspended for a while; Gmail also says 5.2.1 for a mailbox receiving mail too fast (a rate limit,
    # caught by its words first). An account that stays dead keeps answering 5.2.1, and the soft-bounce
    # rule cleans it after repeated bounces over weeks: waiting costs a few emails, a wrong HARD a person.
    "5.2.1": ReportKind.SOFT,
    "5.2.2": ReportKind.SOFT,  # mailbox full
    "5.2.3": ReportKind.OTHER,  # message too long for the mailbox: the message's fault
    "5.3.4": ReportKind.OTHER,  # message too big for the system
    "5.5.3": ReportKind.OTHER,  # too many recipients: how we sent
}
SUBJECTS = {
    "3": ReportKind.SOFT,  # the receiving mail system is unwell (full, not accepting): not the address
    "4": ReportKind.SOFT,  # network and routing trouble (5.4.4 above is the exception)
    "6": ReportKind.OTHER,  # the message's content or media
    "7": ReportKind.OTHER,  # security or policy
}

# A provider's own verdict (SES "Permanent"/"Transient", Postmark "SoftBounce", SendGrid "blocked"...).
# It may only make the result milder: a provider's "permanent" never makes a HARD on its own.
HINT_IGNORED = re.compile(r"auto[- ]?(?:reply|respon)|vacation|out of (?:the )?office")
HINT_TRANSIENT = re.compile(r"transient|temporar|soft|defer|delay|mailbox ?full")
CAMEL_CASE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
HINT_NOT_SEEN = re.compile(r"suppress")  # SES did not send at all: its own list, not the receiver's answer


def read_status(status: object, text: object = None) -> str | None:
    """The RFC 3463 code a report states (the diagnostic's if the status field says only X.0.0), else its reply code."""
    status_text, diagnostic = _plain(status), _plain(text)
    enhanced = _enhanced(status_text, diagnostic)
    if enhanced:
        return enhanced
    reply = REPLY_CODE.search(status_text) or REPLY_CODE.search(diagnostic)
    return reply.group(1) if reply else None


def classify(status: object, text: object, *, hint: object = None) -> ReportKind:
    """What a failure report means for the address: HARD, SOFT, OTHER, IGNORED or UNKNOWN. Never raises."""
    status_text, diagnostic = _plain(status), _plain(text)
    hint_text = CAMEL_CASE.sub(" ", _plain(hint)).lower()  # "MessageTooLarge" reads as "message too large"
    kind = _classify(status_text, diagnostic)
    if HINT_IGNORED.search(hint_text):
        return ReportKind.IGNORED
    if _about_policy(hint_text):
        return ReportKind.OTHER
    if kind is ReportKind.OTHER:
        return kind
    if HINT_NOT_SEEN.search(hint_text):
        return ReportKind.UNKNOWN
    if HINT_TRANSIENT.search(hint_text) and kind in (ReportKind.HARD, ReportKind.UNKNOWN):
        return ReportKind.SOFT
    return kind


def _classify(status_text: str, diagnostic: str) -> ReportKind:
    lowered = diagnostic.lower()
    if any(name in lowered for name in LISTING_SERVICES):
        return ReportKind.OTHER
    address_gone = bool(EXCHANGE_NOT_FOUND.search(lowered))
    words = " ".join(NOT_WORDS.sub(" ", _without_addresses(lowered)).split())
    if _about_policy(words):
        return ReportKind.OTHER
    enhanced = _enhanced(status_text, diagnostic)
    reply = REPLY_CODE.search(status_text) or REPLY_CODE.search(diagnostic)
    klass = reply.group(1)[0] if reply else enhanced[0] if enhanced else None
    if enhanced and enhanced.split(".")[1] == "7":
        return ReportKind.OTHER
    if klass == "4" or (enhanced and enhanced[0] == "4"):
        return ReportKind.SOFT
    if MAILBOX_FULL.search(words):
        return ReportKind.SOFT
    if enhanced and enhanced[0] == "5":
        decided = CODES.get(enhanced) or SUBJECTS.get(enhanced.split(".")[1])
        if decided is ReportKind.HARD and DISABLED.search(words):
            return ReportKind.SOFT  # free.fr and others say "disabled" with 5.1.1: the X.2.1 reasoning holds
        if decided:
            return decided
    if klass not in (None, "5"):
        return ReportKind.UNKNOWN
    if DISABLED.search(words):
        return ReportKind.SOFT
    if klass is None and TEMPORARY.search(words):
        return ReportKind.SOFT
    if address_gone or ADDRESS_GONE.search(words):
        return ReportKind.HARD
    if reply and reply.group(1) == "552":
        return ReportKind.SOFT  # RFC 5321: exceeded storage allocation
    return ReportKind.UNKNOWN


def _without_addresses(lowered: str) -> str:
    """The text without links, and without addresses even where punctuation sticks to them ("(anna@x:blocked)")."""
    if "://" in lowered or "www." in lowered:
        lowered = " ".join(token for token in lowered.split() if "://" not in token and not token.startswith("www."))
    lowered = lowered.translate(SEPARATORS)
    if "@" in lowered:
        lowered = " ".join(token for token in lowered.split() if "@" not in token)
    return lowered


def _about_policy(words: str) -> bool:
    return any(part in words for part in POLICY_WITHIN) or bool(POLICY.search(words))


def _enhanced(status_text: str, diagnostic: str) -> str | None:
    """The status field's code, or the diagnostic's when that is more specific (a field saying only 5.0.0)."""
    own = ENHANCED_CODE.search(status_text)
    said = ENHANCED_CODE.search(diagnostic)
    if own and said and own.group(2) == own.group(3) == "0" and own.group(1) == said.group(1):
        return said.group(0)
    found = own or said
    return found.group(0) if found else None


def _plain(value: object) -> str:
    """Text as given, cut to TEXT_LIMIT: bytes decoded leniently, a number (a JSON reply code) spelled out;
    anything else (None, a list, a dict from a provider's odd payload) says nothing."""
    if isinstance(value, bytes | bytearray):
        return bytes(value[:TEXT_LIMIT]).decode("utf-8", "replace")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value[:TEXT_LIMIT] if isinstance(value, str) else ""
