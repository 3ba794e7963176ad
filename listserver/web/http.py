"""Small request helpers shared by the blueprints."""

from __future__ import annotations

from flask import Response, jsonify, make_response, render_template, request


def wants_json() -> bool:
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def friendly(status: int, title: str, message: str, *, error: str | None = None,
             template: str = "public/message.html", **extra) -> Response:
    """The same answer as a page for people and as JSON for scripts (`error` names a failure)."""
    if wants_json():
        body = {"status": "error", "error": error} if error else {"status": "ok"}
        return make_response(jsonify({**body, "message": message}), status)
    return make_response(render_template(template, title=title, message=message, **extra), status)


def client_ip() -> str | None:
    return request.remote_addr
