"""Start-up checks: production refuses settings that would put people at risk; embedded needs none."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from listserver.settings import Settings, SettingsError

LISTSERVER = str(Path(sys.executable).parent / "listserver")
STRONG = secrets.token_urlsafe(48)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTSERVER_")}
    return {**env, **extra}


def production(**extra) -> dict[str, str]:
    """A production environment that starts, but for what `extra` changes."""
    return {"LISTSERVER_ENV": "production", "LISTSERVER_DATABASE_URL": "postgresql://listserver@db/listserver",
            "LISTSERVER_SECRET_KEYS": STRONG, "LISTSERVER_BASE_URL": "https://lists.example.com", **extra}


def start(environ: dict[str, str], tmp_path) -> Settings:
    return Settings.from_env(environ, instance_path=str(tmp_path / "instance"))


def test_production_with_an_https_address_and_strong_keys_starts(tmp_path):
    flask_way = secrets.token_hex()  # what Flask's documentation tells people to run
    settings = start(production(LISTSERVER_SECRET_KEYS=f"{STRONG},{flask_way}"), tmp_path)
    assert settings.base_url == "https://lists.example.com"
    assert settings.secret_keys == (STRONG, flask_way)


def test_production_without_a_base_url_names_it(tmp_path):
    environ = production()
    del environ["LISTSERVER_BASE_URL"]
    with pytest.raises(SettingsError, match="production mode needs LISTSERVER_BASE_URL"):
        start(environ, tmp_path)


@pytest.mark.parametrize("url", ["http://lists.example.com", "http://127.0.0.1:5000", "lists.example.com",
                                 "https://"])
def test_production_refuses_a_base_url_that_is_not_https(tmp_path, url):
    with pytest.raises(SettingsError) as refused:
        start(production(LISTSERVER_BASE_URL=url), tmp_path)
    assert "LISTSERVER_BASE_URL must be the https:// address" in str(refused.value)
    assert "one-click" in str(refused.value)


@pytest.mark.parametrize("keys, which", [
    ("x", "the key is"),
    ("changeme", "the key is"),
    ("changeme" * 4, "the key is"),  # long enough, but eight characters over and over
    (f"{STRONG},changeme", "key 2 of 2 (newest first) is"),  # an old key still verifies every link
    (f"hunter2,{STRONG},aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "key 1 and 3 of 3 (newest first) are"),
], ids=["x", "changeme", "changeme-4-times", "weak-old-key", "two-weak-of-three"])
def test_production_refuses_weak_keys_and_says_how_to_make_one(tmp_path, keys, which):
    with pytest.raises(SettingsError) as refused:
        start(production(LISTSERVER_SECRET_KEYS=keys), tmp_path)
    message = str(refused.value)
    assert f"LISTSERVER_SECRET_KEYS: {which} too weak" in message
    assert 'python3 -c "import secrets; print(secrets.token_urlsafe(48))"' in message
    assert not any(key in message for key in keys.split(",") if key != "x")  # the message never shows a key


def test_the_command_refuses_and_explains_without_printing_the_key(tmp_path):
    result = subprocess.run([LISTSERVER, "db", "upgrade"], capture_output=True, text=True, cwd=tmp_path,
                            env=clean_env(**production(LISTSERVER_SECRET_KEYS="changeme-please",
                                                       LISTSERVER_BASE_URL="http://lists.example.com")),
                            timeout=60)
    assert result.returncode == 2
    assert "LISTSERVER_BASE_URL must be the https:// address" in result.stderr
    result = subprocess.run([LISTSERVER, "db", "upgrade"], capture_output=True, text=True, cwd=tmp_path,
                            env=clean_env(**production(LISTSERVER_SECRET_KEYS="changeme-please")), timeout=60)
    assert result.returncode == 2
    assert "secrets.token_urlsafe(48)" in result.stderr
    assert "changeme-please" not in result.stderr + result.stdout


def test_embedded_mode_starts_with_no_configuration_at_all(tmp_path):
    settings = start({}, tmp_path)
    assert settings.base_url == "http://127.0.0.1:5000"
    assert len(settings.secret_keys[0]) >= 32 and settings.database_url.startswith("sqlite:///")
    result = subprocess.run([LISTSERVER, "db", "upgrade"], capture_output=True, text=True, cwd=tmp_path,
                            env=clean_env(LISTSERVER_INSTANCE_PATH=str(tmp_path / "instance")), timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "instance" / "listserver.sqlite").exists()


@pytest.mark.parametrize(("name", "value", "says"), [
    ("HYGIENE_SUNSET_DAYS", "-1", "must not be negative"), ("HEALTH_MAX_COMPLAINT_PERCENT", "-0.3", "must not be"),
    ("HYGIENE_BATCH_SIZE", "0", "must be at least 1"), ("HYGIENE_SOFT_BOUNCES", "0", "must be at least 1"),
])
def test_a_hygiene_threshold_that_would_clean_everyone_at_once_is_refused_at_start(tmp_path, name, value, says):
    with pytest.raises(SettingsError, match=f"LISTSERVER_{name} {says}"):
        start({f"LISTSERVER_{name}": value}, tmp_path)
