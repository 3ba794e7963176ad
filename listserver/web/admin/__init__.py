"""The marketer console: one blueprint, server-rendered."""

from listserver.web.admin.views import bp  # noqa: F401
