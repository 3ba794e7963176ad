"""Security headers on every answer: a strict Content-Security-Policy, nosniff, HSTS in production."""

from __future__ import annotations

import functools

from flask import Flask, Response, request

# Our pages load only their own files: no outside hosts, no inline script or style, no eval.
# A view may set directives of its own (the form pages set frame-ancestors for the sites that
# embed them); the rest are filled in from here.
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",  # data: for the empty favicon base.html declares
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",  # no site may frame the console or a subscriber's pages
}
# The iframe variant of a form is framed by the sites the form allows; public._framing_policy
# says which. An answer there that does not say (an error page) is left framable, as before.
FRAMED_ENDPOINTS = frozenset({"public.show_frame", "public.submit_frame"})
# No includeSubDomains: other hosts of the operator's domain may not speak HTTPS.
HSTS = "max-age=31536000"


def _render(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


@functools.lru_cache(maxsize=256)
def completed_policy(own: str, framed: bool = False) -> str:
    """A view's own policy, with the directives it does not set taken from POLICY."""
    named = {part.strip().split(None, 1)[0].lower() for part in own.split(";") if part.strip()}
    rest = {name: value for name, value in POLICY.items()
            if name not in named and not (framed and name == "frame-ancestors")}
    return "; ".join(part for part in (own.strip().rstrip(";"), _render(rest)) if part)


def init_app(app: Flask) -> None:
    hsts = app.config["SETTINGS"].production

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        headers["Content-Security-Policy"] = completed_policy(headers.get("Content-Security-Policy", ""),
                                                              request.endpoint in FRAMED_ENDPOINTS)
        headers["X-Content-Type-Options"] = "nosniff"
        if hsts:
            headers["Strict-Transport-Security"] = HSTS
        return response
