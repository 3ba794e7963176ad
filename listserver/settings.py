"""Typed settings read from LISTSERVER_* environment variables."""

from __future__ import annotations

import dataclasses
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@dataclass(frozen=True)
class Settings:
    """Everything listserver can be configured with, with embedded-mode defaults."""

    env: str = "embedded"  # "embedded" or "production"
    instance_path: str = "instance"
    # Newest key first; older keys still verify tokens so keys can be rotated.
    secret_keys: tuple[str, ...] = ()
    database_url: str = ""
    redis_url: str = ""  # empty: in-process workers and in-memory rate limits
    base_url: str = "http://127.0.0.1:5000"

    smtp_host: str = ""  # empty: the local file outbox
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: str = "none"  # none, starttls or ssl
    smtp_timeout: float = 10.0
    mail_from: str = "listserver <noreply@localhost>"

    confirm_token_days: int = 7
    preferences_token_days: int = 365
    form_cache_seconds: float = 2.0  # how long a published form change may take to show
    form_min_seconds: float = 2.0
    form_max_age_hours: float = 24.0

    ratelimit_ip: str = "30/minute;500/day"
    ratelimit_address: str = "5/hour"  # sign-ups of an address already known (its first is not counted)
    confirmations_per_day: int = 3
    confirmation_resend_seconds: int = 60

    dns_timeout: float = 3.0
    dns_nameservers: tuple[str, ...] = ()  # empty: the system resolver
    max_body_bytes: int = 64 * 1024
    worker_threads: int = 4
    proxy_hops: int = 0  # reverse proxies in front of listserver whose X-Forwarded-* to trust
    outbox_stuck_seconds: int = 60
    redis_retry_seconds: float = 30.0  # after Redis fails a request, how long requests skip it

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def mail_dir(self) -> Path:
        return Path(self.instance_path) / "mail"

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, instance_path: str = "instance") -> Settings:
        """Read LISTSERVER_* variables; embedded mode fills in what is missing."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {"instance_path": environ.get("LISTSERVER_INSTANCE_PATH", instance_path)}
        for f in dataclasses.fields(cls):
            raw = environ.get(f"LISTSERVER_{f.name.upper()}")
            if raw is None or f.name == "instance_path":
                continue
            values[f.name] = _coerce(f, raw)
        settings = cls(**values)
        return settings.completed()

    def completed(self) -> Settings:
        """Fail fast in production; derive embedded defaults otherwise."""
        if self.env not in ("embedded", "production"):
            raise SettingsError(f"LISTSERVER_ENV must be 'embedded' or 'production', not {self.env!r}")
        if self.smtp_tls not in ("none", "starttls", "ssl"):
            raise SettingsError("LISTSERVER_SMTP_TLS must be none, starttls or ssl")
        if self.production:
            missing = [name for name, value in (
                ("LISTSERVER_SECRET_KEYS", self.secret_keys),
                ("LISTSERVER_DATABASE_URL", self.database_url),
            ) if not value]
            if missing:
                raise SettingsError(
                    "production mode needs " + " and ".join(missing)
                    + " (set them in the environment; see README, 'Configuration')"
                )
            return self
        changes: dict[str, object] = {}
        if not self.database_url:
            path = Path(self.instance_path).resolve() / "listserver.sqlite"
            changes["database_url"] = f"sqlite:///{path}"
        if not self.secret_keys:
            changes["secret_keys"] = (_embedded_secret(Path(self.instance_path)),)
        return self.replace(**changes) if changes else self


def _coerce(f: dataclasses.Field, raw: str) -> object:
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    try:
        if kind.startswith("tuple"):
            return tuple(_split(raw))
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(f"LISTSERVER_{f.name.upper()} must be a number, not {raw!r}") from None
    return raw


def _embedded_secret(instance: Path) -> str:
    """A random key kept in the instance folder, so embedded links survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()

