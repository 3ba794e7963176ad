"""The JSON API for marketers' tools: bearer tokens with scopes, an OpenAPI document."""

from __future__ import annotations

import functools

from flask import Blueprint, current_app, g, jsonify, request

from listserver.accounts import audit, users
from listserver.audience import exports
from listserver.contacts import queries, serialize
from listserver.contacts.links import Links
from listserver.db import get_session
from listserver.extensions import limiter
from listserver.inputs import whole_number
from listserver.web.errors import api_error

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PAGE_SIZE = 500


def requires(scope: str):
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            plaintext = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
            token = users.authenticate_api_token(get_session(), plaintext) if plaintext else None
            if token is None:
                return api_error(401, "unauthorized", "Send a valid token as 'Authorization: Bearer <token>'.",
                                 **{"WWW-Authenticate": 'Bearer realm="listserver"'})
            if scope not in token.scopes:
                return api_error(403, "forbidden", f"This token lacks the scope {scope!r}.")
            get_session().commit()  # the token's use is on record whatever the view goes on to do
            g.api_token = token
            return view(*args, **kwargs)

        return wrapped

    return decorate


@bp.get("/contacts")
@limiter.limit("120/minute")
@requires("contacts:read")
def list_contacts():
    """Mailable contacts (subscribed, not paused, deliverable), a page at a time."""
    after = whole_number(request.args.get("after", "0"))
    if after is None:
        return api_error(400, "invalid_parameter", "'after' must be the last id of the previous page.")
    session = get_session()
    # An unknown list: exports' NotFound ("unknown_list"), answered by web.errors (404).
    export = exports.open_export(session, request.args.get("list"))
    actor = audit.actor(audit.Actor.API, g.api_token)
    # One export is one walk through the pages, recorded once, before its first row goes out. The
    # cursor is a bare id (the API's contract), so a later page cannot be tied to its first: a page
    # asked for with a cursor is taken as reading on in a walk of the same list that this token
    # started within exports.WALK. Otherwise it starts an export of its own and is recorded, so
    # a walk begun past the first page is on the audit trail too.
    if after == 0 or not exports.walk_on_record(session, export, actor):
        exports.record_export(session, export, actor=actor, after_id=after)
        session.commit()
    rows = list(exports.export_rows(session, current_app.config["SETTINGS"], export, after_id=after, limit=PAGE_SIZE))
    return jsonify({"contacts": rows, "next_after": rows[-1]["id"] if len(rows) == PAGE_SIZE else None})


@bp.get("/contacts/<path:email>")
@limiter.limit("600/minute")
@requires("contacts:read")
def get_contact(email: str):
    """One contact's status, topics and links, whatever its status."""
    contact = queries.find_contact(get_session(), email)
    if contact is None:
        return api_error(404, "not_found", "No contact with that address.")
    data = serialize.contact(contact, as_stored=True)
    row = exports.contact_row(contact, Links(current_app.config["SETTINGS"]), None)
    return jsonify({"id": data["id"], "status": data["status"], "paused_until": data["paused_until"], **row})


@bp.get("/openapi.json")
def openapi():
    contact = {"type": "object", "properties": {name: {"type": "string"} for name in exports.COLUMNS}}
    auth = [{"bearer": []}]
    return jsonify({
        "openapi": "3.1.0",
        "info": {"title": "listserver API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": {"Contact": contact}},
        "paths": {
            "/api/v1/contacts": {"get": {
                "summary": "Mailable contacts with their preference and unsubscribe links",
                "security": auth,
                "parameters": [{"name": "list", "in": "query", "schema": {"type": "string"}},
                               {"name": "after", "in": "query", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "A page of contacts; follow next_after"}}}},
            "/api/v1/contacts/{email}": {"get": {
                "summary": "One contact's status and links", "security": auth,
                "parameters": [{"name": "email", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The contact", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Contact"}}}},
                              "404": {"description": "No such contact"}}}},
        },
    })
