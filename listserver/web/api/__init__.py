"""The JSON API for marketers' tools."""

from listserver.web.api.views import bp  # noqa: F401
