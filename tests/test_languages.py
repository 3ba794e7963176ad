"""The form, its errors and its emails in every language we ship, and the catalogs behind them."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from listserver import languages
from listserver.forms import publishing
from listserver.forms.definition import FormDefinition
from listserver.forms.fields import country_names
from listserver.forms.library import BUILTIN_FIELDS
from listserver.languages import LANGUAGES
from listserver.models import ConsentRecord, Contact, OutboxMessage
from tests.chromium import Phone
from tests.conftest import contact_of, publish, stamp

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = Path(languages.TRANSLATIONS)
NEWS = {"key": "news", "name": "Shop News"}
TITLE = {"en": "News from the shop", "de": "Neues aus dem Laden", "ru": "Новости магазина",
         "id": "Kabar dari toko", "zh_Hant": "商店消息"}

# What a person sees, language by language: written out here, not read from the catalogs.
SEEN = {
    "en": {"html_lang": "en", "button": "Sign up", "email": "Email address", "first_name": "First name",
        "optional": "(optional)", "required": "This field is required.",
        "no_at": "This email address cannot work. An email address must have an @-sign.",
        "consent": "I agree to receive Shop News by email.", "inbox": "Check your inbox",
        "subject": "Please confirm your subscription: News from the shop", "hello": "Hello Ada,",
        "confirm": "Confirm my address:"},
    "de": {"html_lang": "de", "button": "Anmelden", "email": "E-Mail-Adresse", "first_name": "Vorname",
        "optional": "(optional)", "required": "Bitte füllen Sie dieses Feld aus.",
        "no_at": "Diese E-Mail-Adresse kann nicht funktionieren: Es fehlt das @-Zeichen.",
        "consent": "Ich bin einverstanden, Shop News per E-Mail zu erhalten.", "inbox": "Sehen Sie in Ihr Postfach",
        "subject": "Bitte bestätigen Sie Ihr Abonnement: Neues aus dem Laden", "hello": "Hallo Ada,",
        "confirm": "Adresse bestätigen:"},
    "ru": {"html_lang": "ru", "button": "Подписаться", "email": "Адрес электронной почты", "first_name": "Имя",
        "optional": "(необязательно)", "required": "Это поле обязательно.",
        "no_at": "Этот адрес не может работать: в адресе электронной почты должен быть знак @.",
        "consent": "Я соглашаюсь получать по электронной почте рассылку: Shop News.", "inbox": "Проверьте почту",
        "subject": "Пожалуйста, подтвердите подписку: Новости магазина", "hello": "Здравствуйте, Ada!",
        "confirm": "Подтвердить адрес:"},
    "id": {"html_lang": "id", "button": "Daftar", "email": "Alamat email", "first_name": "Nama depan",
        "optional": "(opsional)", "required": "Kolom ini wajib diisi.",
        "no_at": "Alamat email ini tidak mungkin berfungsi: alamat email harus memiliki tanda @.",
        "consent": "Saya setuju menerima Shop News melalui email.", "inbox": "Periksa kotak masuk Anda",
        "subject": "Mohon konfirmasi langganan Anda: Kabar dari toko", "hello": "Halo Ada,",
        "confirm": "Konfirmasi alamat saya:"},
    "zh_Hant": {"html_lang": "zh-Hant", "button": "訂閱", "email": "電子郵件地址", "first_name": "名字",
        "optional": "(選填)", "required": "此欄位為必填。",
        "no_at": "這個電子郵件地址無法使用：電子郵件地址必須包含 @ 符號。",
        "consent": "我同意透過電子郵件接收「Shop News」。", "inbox": "請查看您的收件匣",
        "subject": "請確認您的訂閱：商店消息", "hello": "Ada 您好：", "confirm": "確認我的地址："},
}
PLURAL_FORMS = {"de": 2, "ru": 3, "id": 1, "zh_Hant": 1}


def slug(language: str) -> str:
    return f"news-{language.lower().replace('_', '-')}"


def publish_news(app, language: str, **spec):
    return publish(app, {"slug": slug(language), "language": language, "lists": ["news"], "title": TITLE,
                         "fields": ["email", {"key": "first_name", "required": False}], **spec}, [NEWS])


def html_lang(page) -> str:
    return re.search(r'<html lang="([^"]+)" dir="ltr">', page.text).group(1)



@pytest.mark.parametrize("language", LANGUAGES)
def test_the_form_page_speaks_the_form_language(app, client, language):
    publish_news(app, language)
    seen = SEEN[language]
    page = client.get(f"/f/{slug(language)}", headers={"Accept-Language": "en"})  # the form's setting wins
    assert page.status_code == 200
    assert html_lang(page) == seen["html_lang"]
    assert f"<h1>{TITLE[language]}</h1>" in page.text
    assert f'<label for="f-email">{seen["email"]}</label>' in page.text
    assert f'{seen["first_name"]} <span class="hint">{seen["optional"]}</span>' in page.text
    assert f'<button type="submit">{seen["button"]}</button>' in page.text
    assert f'<p class="consent">{seen["consent"]}' in page.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_field_errors_speak_the_form_language(app, client, language):
    publish_news(app, language)
    empty = client.post(f"/f/{slug(language)}", data={"email": "", "_ts": stamp(client, slug(language))})
    assert empty.status_code == 422
    assert f'<p class="error" id="email-error">{SEEN[language]["required"]}</p>' in empty.text
    typo = client.post(f"/f/{slug(language)}", data={"email": "ada.example.com", "_ts": stamp(client, slug(language))})
    assert f'<p class="error" id="email-error">{SEEN[language]["no_at"]}</p>' in typo.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_confirmation_email_speaks_the_language_signed_up_in(app, client, submit, deliver, inbox, session, language):
    publish_news(app, language)
    address = f"ada.{language.lower()}@example-shop.net"
    page = submit(address, slug(language), first_name="Ada")
    assert SEEN[language]["inbox"] in page.text

    deliver(app)
    [mail] = inbox.to(address)
    assert mail["Subject"] == SEEN[language]["subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith(SEEN[language]["hello"])
    assert SEEN[language]["confirm"] in text
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert f'<html lang="{SEEN[language]["html_lang"]}" dir="ltr">' in html
    assert contact_of(session, address).language == language

    # The confirmation page opened from the email is in that language too.
    confirm_page = client.get(inbox.link(mail, "confirm"), headers={"Accept-Language": "en"})
    assert html_lang(confirm_page) == SEEN[language]["html_lang"]


@pytest.mark.parametrize(("accept", "expected"), [
    ("ru-RU,ru;q=0.9,en-US;q=0.8", "ru"),
    ("de-AT", "de"),
    ("zh-TW,zh;q=0.9", "zh_Hant"),
    ("zh-Hant-HK", "zh_Hant"),
    ("fr-FR,fr;q=0.9,id;q=0.5", "id"),  # the best language we ship, not the first one asked for
    ("zh-CN,en;q=0.5", "en"),  # a reader of Simplified Chinese who also reads English
    ("zh-CN", "zh_Hant"),  # …and one who reads nothing else we have
    ("fr-FR,fr;q=0.9", "en"),
    ("", "en"),
])
def test_auto_forms_follow_the_browser_language(app, client, accept, expected):
    publish_news(app, "auto")
    page = client.get(f"/f/{slug('auto')}", headers={"Accept-Language": accept})
    assert html_lang(page) == SEEN[expected]["html_lang"]
    assert f'<button type="submit">{SEEN[expected]["button"]}</button>' in page.text


def test_lang_parameter_chooses_the_language_of_an_auto_form_to_the_end(app, client, deliver, inbox, session):
    publish_news(app, "auto")
    page = client.get(f"/f/{slug('auto')}?lang=id", headers={"Accept-Language": "de"})
    assert html_lang(page) == "id" and SEEN["id"]["consent"] in page.text
    # The form posts back in the language it was shown in, whatever the browser says.
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    assert action == f"/f/{slug('auto')}?lang=id"
    stamp_value = re.search(r'name="_ts" value="([^"]+)"', page.text).group(1)
    answer = client.post(action, data={"email": "budi@example-shop.net", "_ts": stamp_value},
                         headers={"Accept-Language": "de"})
    assert SEEN["id"]["inbox"] in answer.text
    deliver(app)
    [mail] = inbox.to("budi@example-shop.net")
    assert mail["Subject"] == SEEN["id"]["subject"]
    assert contact_of(session, "budi@example-shop.net").language == "id"


def test_lang_parameter_does_not_change_a_form_with_a_fixed_language(app, client):
    publish_news(app, "de")
    page = client.get(f"/f/{slug('de')}?lang=ru", headers={"Accept-Language": "ru"})
    assert html_lang(page) == "de" and SEEN["de"]["button"] in page.text
    assert f'action="/f/{slug("de")}"' in page.text


def test_an_unknown_language_falls_back_to_english(app, client, submit, deliver, inbox, session):
    publish_news(app, "auto")
    page = client.get(f"/f/{slug('auto')}?lang=xx", headers={"Accept-Language": "fr-CA,fr;q=0.8,*;q=0.1"})
    assert html_lang(page) == "en" and SEEN["en"]["consent"] in page.text
    # A contact stored with a language we do not ship still gets their emails, in English.
    submit("francois@example-shop.net", slug("auto"), first_name="Ada")
    session.execute(sa.update(Contact).values(language="fr"))
    session.execute(sa.update(OutboxMessage).values(language="fr"))
    deliver(app)
    [mail] = inbox.to("francois@example-shop.net")
    assert mail["Subject"] == SEEN["en"]["subject"]


def test_a_form_cannot_be_published_in_a_language_we_do_not_ship(app):
    with pytest.raises(publishing.SpecError, match="'auto' or one of en, de, ru, id, zh_Hant"):
        publish_news(app, "fr")
    assert publish_news(app, "de-DE").definition["language"] == "de"
    assert publish_news(app, "zh-TW").definition["language"] == "zh_Hant"


def test_spec_texts_given_by_language_pick_the_visitor_language_then_english(app, client):
    publish_news(app, "auto", title={"en": "Shop news", "de": "Ladennachrichten"},
                 intro={"en": "Once a month.", "zh-TW": "每月一次。"},
                 lead_magnet={"title": {"en": "Coupon", "ru": "Купон"}, "url": "https://shop.example/c"},
                 frequency={"en": "monthly", "de": "monatlich"})
    german = client.get(f"/f/{slug('auto')}", headers={"Accept-Language": "de"}).text
    assert "<h1>Ladennachrichten</h1>" in german and "(monatlich)" in german
    chinese = client.get(f"/f/{slug('auto')}", headers={"Accept-Language": "zh-TW"}).text
    assert "<h1>Shop news</h1>" in chinese and "每月一次。" in chinese
    russian = client.get(f"/f/{slug('auto')}?lang=ru").text
    assert "Купон" in russian and "(monthly)" in russian


def test_consent_proof_hashes_the_text_the_visitor_read(app, client, deliver, inbox, session):
    version = publish_news(app, "auto")
    page = client.get(f"/f/{slug('auto')}", headers={"Accept-Language": "ru"})
    shown = re.search(r'<p class="consent">([^<]+)</p>', page.text).group(1)
    assert shown == FormDefinition.from_json(version.definition).consent_in("ru")[0]
    client.post(f"/f/{slug('auto')}", data={"email": "olga@example-shop.net", "_ts": stamp(client, slug("auto"))},
                headers={"Accept-Language": "ru"})
    deliver(app)
    link = inbox.link(inbox.to("olga@example-shop.net")[0], "confirm")
    confirm_page = client.get(link)
    assert f'<p class="consent">{shown}</p>' in confirm_page.text
    client.post(link)
    records = session.scalars(sa.select(ConsentRecord).order_by(ConsentRecord.id)).all()
    assert [r.action.value for r in records] == ["granted", "confirmed"]
    assert {r.consent_text_hash for r in records} == {hashlib.sha256(shown.encode()).hexdigest()}
    assert records[0].consent_text_hash != version.consent_text_hash  # that one is the English text


def test_default_consent_text_is_frozen_in_every_language(app):
    definition = publish_news(app, "de", frequency="monatlich").definition
    assert set(definition["consent_texts"]) == set(LANGUAGES)
    assert definition["consent_text"] == definition["consent_texts"]["de"]
    assert definition["consent_texts"]["de"].startswith("Ich bin einverstanden, Shop News per E-Mail zu "
                                                        "erhalten (monatlich).")


def test_built_in_fields_are_labelled_and_explained_in_every_language():
    for key, field in BUILTIN_FIELDS.items():
        for texts in (field["labels"], field["help"]):
            assert set(texts) == set(LANGUAGES), key
            english = texts["en"]
            assert all(texts[code] and texts[code] != english for code in LANGUAGES if code != "en"), (key, texts)


def test_country_names_come_in_the_visitor_language_in_its_order():
    assert country_names("zh_Hant")["TW"] == "台灣"
    assert country_names("ru")["DE"] == "Германия"
    german = list(country_names("de").values())
    assert german.index("Norwegen") < german.index("Österreich") < german.index("Zypern")
    assert not {"EU", "UN", "XA", "ZZ"} & set(country_names("id"))


def _fresh_messages(tmp_path) -> set:
    pot = tmp_path / "fresh.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l",
                                "-k", "lazy_gettext", "-o", str(pot), str(ROOT)])
    with pot.open("rb") as f:
        return {message.id if isinstance(message.id, str) else tuple(message.id) for message in read_po(f)
                if message.id}


def test_catalogs_are_complete_checked_and_compiled(tmp_path):
    in_the_code = _fresh_messages(tmp_path)
    for language in LANGUAGES[1:]:
        po = CATALOGS / language / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as f:
            catalog = read_po(f, locale=language)
        ids = {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}
        assert ids == in_the_code, f"{po} is behind the code: run `make translations` and translate"
        assert not catalog.fuzzy and catalog.num_plurals == PLURAL_FORMS[language], po
        untranslated = [m.id for m in catalog if m.id and (m.fuzzy or not all(
            m.string if isinstance(m.string, tuple) else [m.string]))]
        assert untranslated == [], f"{po}: untranslated or fuzzy"
        problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
        assert problems == [], f"{po}: placeholders do not match"
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"{mo} is missing: run `make translations`"
        # What the app reads, not the bytes: a compiled catalog carries the version of the Babel
        # that wrote it, which says nothing about whether it is up to date.
        with mo.open("rb") as f:
            compiled = read_mo(f)
        assert _translations(compiled) == _translations(catalog), f"{mo} is stale: run `make translations`"
        assert compiled.plural_forms == catalog.plural_forms, f"{mo} has other plural forms than {po}"


def _translations(catalog) -> dict:
    def plain(value):  # plural messages come as lists from one reader and tuples from the other
        return tuple(value) if isinstance(value, (list, tuple)) else value

    return {plain(m.id): plain(m.string) for m in catalog if m.id and not m.fuzzy}


@pytest.mark.browser
def test_the_form_on_a_phone_in_each_language(app, live_server, browser):
    from playwright.sync_api import expect

    publish_news(app, "auto", fields=["email", "first_name", "last_name", "country", "postal_code"])
    _, base = live_server
    for language, locale in [("en", "en-GB"), ("de", "de-DE"), ("ru", "ru-RU"), ("id", "id-ID"),
                             ("zh_Hant", "zh-TW")]:
        phone = Phone(browser, locale=locale)
        try:
            page, seen = phone.page, SEEN[language]
            page.goto(f"{base}/f/{slug('auto')}")
            expect(page.locator("html")).to_have_attribute("lang", seen["html_lang"])
            expect(page.get_by_role("heading", name=TITLE[language])).to_be_visible()
            expect(page.get_by_label(seen["email"])).to_be_visible()
            expect(page.get_by_text(seen["consent"])).to_be_visible()
            sign_up = page.get_by_role("button", name=seen["button"])
            expect(sign_up).to_be_visible()
            phone.assert_fits_the_screen()
            phone.assert_styled()

            sign_up.click()  # nothing filled in
            expect(page.get_by_text(seen["required"]).first).to_be_visible()
            phone.assert_fits_the_screen()
            page.get_by_label(seen["email"]).fill(f"ada.{locale.lower()}@example-shop.net")
            page.get_by_role("button", name=seen["button"]).click()
            expect(page.get_by_role("heading", name=seen["inbox"])).to_be_visible()
            phone.assert_fits_the_screen()
            assert phone.problems == [], f"{language}: the browser ran into problems"
        finally:
            phone.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_embed_script_gets_the_form_in_the_visitor_language(app, client, language):
    publish_news(app, "auto")
    answer = client.get(f"/f/{slug('auto')}/definition", headers={"Accept-Language": "en"},
                        query_string={"lang": language})
    body = answer.json
    assert body["language"] == SEEN[language]["html_lang"] and body["button"] == SEEN[language]["button"]
    assert body["title"] == TITLE[language] and body["consent"].startswith(SEEN[language]["consent"].rstrip("."))
    assert [f["label"] for f in body["fields"]] == [SEEN[language]["email"], SEEN[language]["first_name"]]
    assert body["messages"]["required"] == SEEN[language]["required"]
    # One URL, several languages: a shared cache must keep them apart.
    assert "Accept-Language" in answer.headers["Vary"]


def test_someone_unconfirmed_who_signs_up_again_reads_the_new_language(app, client, deliver, inbox, session):
    publish_news(app, "auto")
    for language in ("de", "ru"):
        page = client.get(f"/f/{slug('auto')}?lang={language}")
        action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
        client.post(action, data={"email": "olga@example-shop.net",
                                  "_ts": re.search(r'name="_ts" value="([^"]+)"', page.text).group(1)})
    deliver(app)
    assert {m["Subject"] for m in inbox.to("olga@example-shop.net")} == {SEEN["de"]["subject"],
                                                                         SEEN["ru"]["subject"]}
    assert contact_of(session, "olga@example-shop.net").language == "ru"


def test_the_console_stays_english_whatever_the_browser_asks(client):
    """Not translated yet: its pages must not claim another language."""
    page = client.get("/admin/login", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert page.status_code == 200 and "Sign in" in page.text
    assert '<html lang="en"' in page.text
    # while a subscriber's page follows the browser
    assert '<html lang="de"' in client.get("/preferences/new-link", headers={"Accept-Language": "de"}).text
