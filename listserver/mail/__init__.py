"""Email: the outbox written with the change that causes it, rendering, transport, domain checks."""
