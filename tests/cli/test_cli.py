"""The `listserver` command: settings checks, migrations, data from files, the embedded run."""

import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.cli import ScriptInfo

from listserver.cli import main
from listserver.models import FormVersion, MailingList
from tests.conftest import free_port

LISTSERVER = str(Path(sys.executable).parent / "listserver")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTSERVER_")}
    return {**env, **extra}


@pytest.mark.parametrize("given, missing", [
    ({}, "LISTSERVER_SECRET_KEYS and LISTSERVER_DATABASE_URL"),
    ({"LISTSERVER_SECRET_KEYS": "k1"}, "LISTSERVER_DATABASE_URL"),
    ({"LISTSERVER_DATABASE_URL": "postgresql://x/y"}, "LISTSERVER_SECRET_KEYS"),
])
def test_production_refuses_to_start_without_secret_and_database(tmp_path, given, missing):
    result = subprocess.run([LISTSERVER, "db", "upgrade"], capture_output=True, text=True, cwd=tmp_path,
                            env=clean_env(LISTSERVER_ENV="production", **given), timeout=60)
    assert result.returncode == 2
    assert f"production mode needs {missing}" in result.stderr


def test_bad_number_in_settings_is_named(tmp_path):
    result = subprocess.run([LISTSERVER, "db", "upgrade"], capture_output=True, text=True, cwd=tmp_path,
                            env=clean_env(LISTSERVER_SMTP_PORT="twenty-five"), timeout=60)
    assert result.returncode == 2 and "LISTSERVER_SMTP_PORT must be a number" in result.stderr


def invoke(app, *args):
    return app.test_cli_runner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def test_lists_and_forms_from_yaml_and_json(app, tmp_path, session):
    (tmp_path / "lists.yaml").write_text(
        "- key: offers\n  name: Offers\n  description: Discounts, at most twice a month.\n"
        "- key: events\n  name: Events\n")
    (tmp_path / "form.json").write_text(
        '{"slug": "spring", "name": "Spring sale", "lists": ["offers", "events"],'
        ' "fields": ["email", {"key": "phone", "required": false},'
        ' {"key": "shoe_size", "type": "number", "label": {"en": "Shoe size", "de": "Schuhgröße"}}],'
        ' "lead_magnet": {"title": "10 % off", "url": "https://shop.example/coupon"}}')
    assert invoke(app, "lists", "create", str(tmp_path / "lists.yaml")).exit_code == 0
    result = invoke(app, "forms", "create", str(tmp_path / "form.json"))
    assert result.exit_code == 0, result.output
    assert "form spring version 1: http://127.0.0.1:5000/f/spring" in result.output
    # Publishing the same spec again makes no new version; a change does.
    assert "version 1" in invoke(app, "forms", "create", str(tmp_path / "form.json")).output
    (tmp_path / "form.json").write_text((tmp_path / "form.json").read_text().replace("10 % off", "15 % off"))
    assert "version 2" in invoke(app, "forms", "create", str(tmp_path / "form.json")).output
    keys = session.scalars(sa.select(MailingList.key).order_by(MailingList.key)).all()
    assert keys == ["events", "newsletter", "offers"]
    versions = session.scalars(sa.select(FormVersion).where(FormVersion.definition["slug"].as_string() == "spring")
                               .order_by(FormVersion.number)).all()
    assert [v.definition["lead_magnet"]["title"] for v in versions] == ["10 % off", "15 % off"]
    page = app.test_client().get("/f/spring")
    assert "Shoe size" in page.text and "Phone number" in page.text and "(optional)" in page.text


@pytest.mark.parametrize("spec, message", [
    ("slug: Bad Slug\nlists: [newsletter]\n", "form 'slug' must be lowercase"),
    ("slug: ok\nlists: [nope]\n", "unknown: nope"),
    ("slug: ok\nlists: [newsletter]\nfields: [first_name]\n", "a form must ask for 'email'"),
    ("slug: ok\nlists: [newsletter]\nfields: [{key: hobby}]\n", "field 'hobby' is not in the library"),
    ("slug: [unclosed\n", "is not valid YAML"),
])
def test_bad_form_specs_are_explained(app, tmp_path, spec, message):
    (tmp_path / "form.yaml").write_text(spec)
    result = invoke(app, "forms", "create", str(tmp_path / "form.yaml"))
    assert result.exit_code != 0 and message in result.output


def test_embedded_run_starts_with_a_demo_form_prints_how_to_sign_in_and_mails_a_sign_up(tmp_path, fake_dns):
    port = free_port()
    # DNS that denies every name, as on an offline box or behind a captive portal: the demo must mail anyway.
    process = subprocess.Popen([LISTSERVER, "run", "--port", str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               env=clean_env(LISTSERVER_INSTANCE_PATH=str(tmp_path / "instance"),
                                             LISTSERVER_FORM_MIN_SECONDS="0", LISTSERVER_DNS_NAMESERVERS=fake_dns("")))
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("Press Ctrl+C" in line for line in lines):
            lines.append(process.stdout.readline())
        banner = "".join(lines)
        assert f"listserver is running at http://127.0.0.1:{port}" in banner
        password = re.search(r"sign in as admin@localhost / (\S+)\)", banner).group(1)
        assert len(password) >= 12
        for _ in range(50):
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/f/demo", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert "Get the list-building checklist" in page
        assert (tmp_path / "instance" / "listserver.sqlite").exists()

        # A sign-up's confirmation lands in the local outbox on its own: the in-process relay
        # and workers hand it over and send it, nobody runs anything else.
        token = re.search(r'name="_ts" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"email": "first@example-shop.net", "_ts": token}).encode()
        answer = urllib.request.urlopen(f"http://127.0.0.1:{port}/f/demo", data=body, timeout=5).read().decode()
        assert "Check your inbox" in answer
        mail_dir = tmp_path / "instance" / "mail"
        for _ in range(100):
            mails = [p.read_text() for p in mail_dir.glob("*.eml")] if mail_dir.exists() else []
            if mails:
                break
            time.sleep(0.1)
        assert len(mails) == 1 and "To: first@example-shop.net" in mails[0]
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()


def test_embedding_sites_and_snippets(app, client):
    result = invoke(app, "forms", "origins", "demo", "--allow", "https://www.Example-Shop.net/")
    assert result.exit_code == 0 and "may be embedded on: https://www.example-shop.net" in result.output
    allowed = client.get("/f/demo/definition", headers={"Origin": "https://www.example-shop.net"})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://www.example-shop.net"
    assert invoke(app, "forms", "origins", "demo", "--allow", "not a site").exit_code != 0
    invoke(app, "forms", "origins", "demo", "--disallow", "https://www.example-shop.net")
    assert client.get("/f/demo/definition", headers={"Origin": "https://www.example-shop.net"}).status_code == 403
    snippets = invoke(app, "forms", "embed", "demo").output
    assert 'src="http://127.0.0.1:5000/f/demo/embed.js"' in snippets and "/f/demo/frame" in snippets
    assert '<form action="http://127.0.0.1:5000/f/demo" method="post">' in snippets
    assert invoke(app, "forms", "embed", "nope").exit_code != 0
