"""What the hooks fetch from a provider's servers: AWS's signing certificates and SNS confirmations.

This is the edge of the world: the one place a hook reaches out. Tests put a fetcher of their own
in its place (the app's `hook_fetcher` service) that serves their own certificate.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from listserver.memo import Memo

MAX_BYTES = 64 * 1024  # a certificate is about 2 KB; a confirmation's answer less


class FetchFailed(Exception):
    """The provider's server could not be reached, or did not answer as it should (try again later)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # The caller checked the URL's host; a redirect would lead somewhere it did not check.
    def redirect_request(self, *args, **kwargs):
        return None


class Fetcher:
    """GETs https URLs; certificates are kept, as they are used for every message of a topic."""

    def __init__(self, timeout: float = 5.0):
        self.timeout = timeout
        self.certificates = Memo(32)
        self.opener = urllib.request.build_opener(_NoRedirects())

    def get(self, url: str) -> bytes:
        """The body of an https URL (checked by the caller); FetchFailed if there is none."""
        if not url.startswith("https://"):
            raise FetchFailed("only https is fetched")
        try:
            with self.opener.open(url, timeout=self.timeout) as answer:
                body = answer.read(MAX_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise FetchFailed(type(exc).__name__) from None
        if len(body) > MAX_BYTES:
            raise FetchFailed("the answer is too large")
        return body

    def certificate(self, url: str) -> bytes:
        """The PEM certificate at `url`, fetched once per process."""
        return self.certificates.get_or_make(url, lambda: self.get(url))
