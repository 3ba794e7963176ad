"""Small request helpers shared by the blueprints."""

from __future__ import annotations

import functools
import io

from flask import Response, abort, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import BadRequest
from werkzeug.http import parse_accept_header


def wants_json() -> bool:
    """A script, not a page: a JSON body, or an Accept header that prefers JSON to HTML."""
    return request.is_json or _prefers_json(request.headers.get("Accept"))


@functools.lru_cache(maxsize=256)
def _prefers_json(accept: str | None) -> bool:
    # Browsers send the same few Accept headers again and again, and parsing one costs more
    # (up to 50 us for a browser's) than the rest of answering a sign-up's page.
    mimetypes = parse_accept_header(accept, MIMEAccept)
    best = mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and mimetypes[best] > mimetypes["text/html"]


def friendly(status: int, title: str, message: str, *, error: str | None = None,
             template: str = "public/message.html", **extra) -> Response:
    """The same answer as a page for people and as JSON for scripts (`error` names a failure)."""
    if wants_json():
        body = {"status": "error", "error": error} if error else {"status": "ok"}
        return make_response(jsonify({**body, "message": message}), status)
    return make_response(render_template(template, title=title, message=message, **extra), status)


def json_body() -> object:
    """The request's JSON document (None for a body that is not JSON); a 400 JSON error if unreadable."""
    if not request.is_json:
        return None
    try:
        return request.get_json()
    except (BadRequest, RecursionError):
        # RecursionError: arrays nested deeper than the parser's stack. Werkzeug lets it escape as
        # a 500, yet it is only junk sent to us.
        pass
    abort(friendly(400, _("Not understood"), _("Send a JSON object of field names and values."),
                   error="invalid_json"))


def client_ip() -> str | None:
    return request.remote_addr


class StreamedBodyLimit:
    """WSGI middleware: a body sent without Content-Length (chunked) over the limit is a 413."""

    # Werkzeug reads such a body up to MAX_CONTENT_LENGTH and then hands over what it has as if
    # it were all of it: a 10 MB form was cut at 64 KB and processed. Reading one byte more than
    # the limit here tells a whole body from a cut one; with the length we saw as Content-Length,
    # werkzeug answers 413 through the app's own error pages.

    def __init__(self, app, limit: int, *, wider: dict[str, int] | None = None):
        self.app, self.limit, self.wider = app, limit, wider or {}  # wider: {path prefix: its own limit}

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH"):
            path = environ.get("PATH_INFO", "")
            limit = next((wider for prefix, wider in self.wider.items() if path.startswith(prefix)), self.limit)
            try:
                body = _read_at_most(environ["wsgi.input"], limit + 1)
            except (OSError, ValueError):  # a broken chunk: werkzeug's answer to a cut body, 400
                environ["wsgi.input"] = _Unreadable()
            else:
                # Read and dechunked now: werkzeug ignores Content-Length beside Transfer-Encoding.
                environ.pop("HTTP_TRANSFER_ENCODING", None)
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)


def _read_at_most(stream, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        part = stream.read(min(size - got, 64 * 1024))  # a dechunking stream returns a chunk at a time
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


class _Unreadable(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise OSError("the request body could not be read")
