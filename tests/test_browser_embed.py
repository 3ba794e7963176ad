"""Forms embedded on another site, in a real headless Chromium on a phone-sized screen.

The host pages come from a site of their own on a different origin than listserver:
http://localhost:<port> is on the form's allow-list, http://127.0.0.1:<same port> is not.
"""

from __future__ import annotations

import html
import re
import time

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.models import Contact, ContactStatus
from tests.chromium import PHONE, HostSite, Phone, expect
from tests.conftest import contact_in, publish

pytestmark = pytest.mark.browser

ACCENT = "rgb(10, 124, 58)"  # what the host page sets as --listserver-accent: #0a7c3a
LISTS = [{"key": "growth", "name": "The Growth Letter", "description": "Two emails a month."}]



def form_spec(site: HostSite, **changes) -> dict:
    spec = {
        "slug": "growth", "name": "Growth letter on the blog", "title": "Get the growth letter",
        "intro": "Two short emails a month about growing a small business.", "language": "en",
        "lists": ["growth"], "fields_per_view": 2,
        "fields": ["email", {"key": "first_name", "required": False}, "company", "job_title", "country"],
        "allowed_origins": [site.origin], "site_url": f"{site.origin}/blog/",
        "lead_magnet": {"title": "The pricing worksheet", "description": "One page, fill it in with a pencil."},
    }
    return {**spec, **changes}


def article(base: str, slug: str = "growth", *, title: str = "A blog post", before: str = "",
            head: str = "", target: str = '<div id="signup"></div>') -> str:
    """A host page with the embed snippet. Its own styles are ugly on purpose: none may reach the form."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><link rel="icon" href="data:,">{head}</head>
<body>
<h1>{html.escape(title)}</h1>
{before}
<p>Some text of the article that the visitor came to read.</p>
{target}
<script src="{base}/f/{slug}/embed.js" data-target="#signup" async></script>
</body></html>"""


UGLY_HOST_STYLES = """<style>
  #signup { --listserver-accent: #0a7c3a; }
  label { display: none !important; } button { background: red !important; font-size: 40px; }
  input { width: 900px !important; } * { font-family: "Comic Sans MS", cursive; }
</style>"""



def contacts(app) -> int:
    engine = app.extensions["listserver.db"].engine
    with so.Session(engine) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Contact))


def forgive(phone: Phone, *patterns: str) -> None:
    """Drop the problems a test provokes on purpose (a 422 answer, a refused origin)."""
    phone.problems[:] = [p for p in phone.problems if not any(re.search(x, p) for x in patterns)]


def assert_tappable(locator) -> None:
    assert locator.count() > 0, "nothing to tap"
    for index in range(locator.count()):
        box = locator.nth(index).bounding_box()
        assert box and box["height"] >= 44, f"too small to tap: {locator.nth(index).evaluate('e => e.outerHTML')}"


def confirm_by_email(page, inbox, deliver, app, base: str, address: str) -> None:
    deliver(app)
    [mail] = inbox.to(address)
    page.goto(base + inbox.link(mail, "confirm"))
    page.get_by_role("button", name="Yes, subscribe me").click()
    expect(page.get_by_role("heading", name="You are subscribed")).to_be_visible()


def test_sign_up_on_a_blog_confirm_and_come_back_to_the_next_questions(app, live_server, site, phone, inbox,
                                                                      deliver):
    live_app, base = live_server
    publish(app, form_spec(site), LISTS)
    post = site.add("/blog/post", article(base, head=UGLY_HOST_STYLES))
    page = phone.page
    address = "ola.embed@example-shop.net"

    # The form on someone else's site: every field labelled and explained, styled as the site asked.
    page.goto(post)
    expect(page.get_by_role("heading", name="Get the growth letter")).to_be_visible()
    expect(page.get_by_text("The pricing worksheet")).to_be_visible()
    email = page.get_by_label("Email address")
    expect(email).to_be_visible()
    expect(email).to_have_accessible_description(re.compile("We send one email to this address"))
    expect(page.get_by_label("First name")).to_be_visible()
    expect(page.get_by_label("Company")).to_have_count(0)  # two questions at a time
    sign_up = page.locator("[data-listserver-form], #signup").get_by_role("button", name="Sign up")
    expect(sign_up).to_have_css("background-color", ACCENT)  # the host's colour, not its red buttons
    expect(sign_up).to_have_css("color", "rgb(255, 255, 255)")
    expect(page.get_by_role("heading", name="Get the growth letter")).to_have_css("font-size", "20px")
    expect(email).to_have_css("width", re.compile(r"^(2\d\d|3[0-5]\d)(\.\d+)?px$"))  # not the host's 900px
    expect(page.get_by_text("Two short emails a month")).to_have_css("font-family", re.compile("system-ui"))
    assert_tappable(page.locator("#signup").locator("input:not([type=hidden]):not([tabindex='-1']), button"))
    expect(page.get_by_label("Leave this empty")).not_to_be_in_viewport()
    phone.assert_fits_the_screen()

    email.fill(address)
    page.get_by_label("First name").fill("Ola")
    sign_up.click()
    expect(page.get_by_text("we have sent you an email")).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_count(0)
    assert contact_in(live_app, address).status == ContactStatus.PENDING

    # The email, the button, and back to the blog the next day: the next two questions only.
    confirm_by_email(page, inbox, deliver, live_app, base, address)
    assert contact_in(live_app, address).attributes == {"first_name": "Ola"}
    page.goto(post)
    expect(page.get_by_text("A few more questions")).to_be_visible()
    expect(page.get_by_label("Company")).to_be_visible()
    expect(page.get_by_label("Job title")).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_count(0)
    expect(page.get_by_label("First name")).to_have_count(0)
    expect(page.get_by_role("button", name="Not you?")).to_be_visible()

    # Answer one, skip the other: saved, and the next question follows at once.
    page.get_by_label("Company").fill("Ola's Bakery")
    page.get_by_role("button", name="Save my answers").click()
    expect(page.get_by_text(re.compile("saved", re.I))).to_be_visible()
    expect(page.get_by_label("Country")).to_be_visible()
    expect(page.get_by_label("Company")).to_have_count(0)
    assert contact_in(live_app, address).attributes == {"first_name": "Ola", "company": "Ola's Bakery"}

    # Someone else on this computer: "Not you?" forgets the visitor and asks for an address again.
    page.get_by_role("button", name="Not you?").click()
    expect(page.get_by_label("Email address")).to_be_visible()
    expect(page.get_by_role("heading", name="Get the growth letter")).to_be_visible()
    page.reload()  # and it stays forgotten
    expect(page.get_by_label("Email address")).to_be_visible()
    expect(page.get_by_text("A few more questions")).to_have_count(0)


def test_mistakes_are_announced_and_a_typo_fixed_with_one_tap(app, live_server, site, phone):
    live_app, base = live_server
    publish(app, form_spec(site), LISTS)
    page = phone.page
    page.goto(site.add("/blog/post", article(base)))
    sign_up = page.get_by_role("button", name="Sign up")

    # Nothing typed: the field says what is wrong, a screen reader hears it, the cursor is there.
    sign_up.click()
    email = page.get_by_label("Email address")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()
    expect(email).to_have_accessible_description(re.compile("required", re.I))
    expect(page.get_by_role("alert").filter(has_text=re.compile("required", re.I))).to_be_visible()

    email.fill("anna@gmial.com")
    sign_up.click()
    expect(page.get_by_text("Did you mean anna@gmail.com?", exact=True)).to_be_visible()
    expect(email).to_have_value("anna@gmial.com")
    expect(email).not_to_have_attribute("aria-invalid", "true")
    phone.assert_fits_the_screen()
    assert contact_in(live_app, "anna@gmial.com") is None

    page.get_by_role("button", name="Yes, use it").click()
    expect(page.get_by_text("we have sent you an email")).to_be_visible()
    assert contact_in(live_app, "anna@gmail.com") is not None
    assert contact_in(live_app, "anna@gmial.com") is None
    forgive(phone, r"^422 for .*/f/growth$")


def test_the_link_back_from_the_confirmation_recognises_the_visitor_on_another_device(
        app, live_server, site, browser, inbox, deliver):
    live_app, base = live_server
    publish(app, form_spec(site), LISTS)
    site.add("/blog/post", article(base))
    site.add("/blog/", article(base, title="The blog"))
    address = "ida.two.devices@example-shop.net"
    laptop, mobile = Phone(browser), Phone(browser)
    try:
        laptop.page.goto(f"{site.origin}/blog/post")
        laptop.page.get_by_label("Email address").fill(address)
        laptop.page.get_by_role("button", name="Sign up").click()
        expect(laptop.page.get_by_text("we have sent you an email")).to_be_visible()

        # The email is opened on the phone, which has never seen the blog.
        page = mobile.page
        confirm_by_email(page, inbox, deliver, live_app, base, address)
        page.get_by_role("link", name="Continue on our website").click()
        # The questions after the first view (the first name was left blank there: not asked again).
        expect(page.get_by_text("A few more questions")).to_be_visible()
        expect(page.get_by_label("Company")).to_be_visible()
        expect(page.get_by_label("Email address")).to_have_count(0)
        expect(page.get_by_label("First name")).to_have_count(0)
        assert "ls_pt" not in page.url, "the token stays in the address bar, to be copied or shared"
        assert page.url == f"{site.origin}/blog/"
        page.get_by_label("Company").fill("Ida & Co")
        page.get_by_role("button", name="Save my answers").click()
        expect(page.get_by_text(re.compile("saved", re.I))).to_be_visible()
        assert contact_in(live_app, address).attributes == {"company": "Ida & Co"}
        # The next visit on the phone still knows who this is, and what was answered.
        page.reload()
        expect(page.get_by_label("Country")).to_be_visible()
        expect(page.get_by_label("Company")).to_have_count(0)
    finally:
        laptop.close()
        mobile.close()
    assert laptop.problems == [] and mobile.problems == [], "the browser ran into problems on these pages"


def test_a_site_not_on_the_allow_list_gets_the_plain_form_which_still_works(app, live_server, site, phone):
    live_app, base = live_server
    publish(app, form_spec(site), LISTS)
    # The site's own no-JS form inside the target, as the snippet in embed.js recommends.
    plain = (f'<div id="signup"><form method="post" action="{base}/f/growth" target="_blank">'
             '<label>Email address <input type="email" name="email" required></label>'
             '<button>Sign up</button></form></div>')
    site.add("/other/post", article(base, target=plain))
    page = phone.page
    with page.expect_event("requestfailed", lambda r: "/definition" in r.url):
        page.goto(f"{site.foreign_origin}/other/post")

    # The script gets nothing from listserver here, so the visitor keeps the plain form.
    expect(page.get_by_label("Email address")).to_be_visible()
    expect(page.get_by_role("heading", name="Get the growth letter")).to_have_count(0)
    # A script on this site cannot post JSON to the form: the browser is refused before anything is sent.
    refused = page.evaluate(f"""() => new Promise(done => {{
        const x = new XMLHttpRequest();
        x.open("POST", "{base}/f/growth");
        x.setRequestHeader("Content-Type", "application/json");
        x.onload = () => done(x.status); x.onerror = () => done("refused");
        x.send(JSON.stringify({{email: "mallory.script@example-shop.net"}}));
    }})""")
    assert refused == "refused"
    assert contacts(live_app) == 0

    # The plain form posts from any site: listserver shows its own page to finish on.
    page.get_by_label("Email address").fill("pia.plain@example-shop.net")
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="Sign up").click()
    tab = opened.value
    expect(tab.get_by_text("One more step")).to_be_visible()
    expect(tab.get_by_label("Email address")).to_have_value("pia.plain@example-shop.net")
    assert contacts(live_app) == 0
    tab.get_by_role("button", name="Sign up").click()
    expect(tab.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert contact_in(live_app, "pia.plain@example-shop.net").status == ContactStatus.PENDING
    forgive(phone, "blocked by CORS policy", r"/f/growth(/definition\?.*)?( \(net::ERR_FAILED\)|$)",
            r"^403 for .*/definition")


def test_when_listserver_cannot_be_reached_the_script_leaves_a_plain_form_that_works(app, live_server, site,
                                                                                    phone):
    live_app, base = live_server
    publish(app, form_spec(site), LISTS)
    page = phone.page
    # The network between the visitor and listserver fails: faked at the browser's edge, nothing else is.
    page.route(re.compile(r".*/f/growth/definition.*"), lambda route: route.abort("connectionrefused"))
    page.goto(site.add("/blog/post", article(base)))

    email = page.get_by_label("Email address")
    expect(email).to_be_visible()
    email.fill("noor.offline@example-shop.net")
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="Sign up").click()
    tab = opened.value
    expect(tab.get_by_label("Email address")).to_have_value("noor.offline@example-shop.net")
    tab.get_by_role("button", name="Sign up").click()
    expect(tab.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert contact_in(live_app, "noor.offline@example-shop.net").status == ContactStatus.PENDING
    forgive(phone, r"^request failed: .*/definition\?.*ERR_CONNECTION_REFUSED")


def test_the_iframe_grows_with_its_form(app, live_server, site, phone):
    live_app, base = live_server
    publish(app, form_spec(site), LISTS)
    listener = site.add("/js/frames.js", f"""
        addEventListener("message", function (event) {{
          var data = event.data, frames = document.getElementsByTagName("iframe");
          if (event.origin !== "{base}" || !data || data.type !== "listserver:height") return;
          for (var i = 0; i < frames.length; i++)
            if (frames[i].contentWindow === event.source) frames[i].style.height = data.height + "px";
        }});""", "text/javascript")
    page = phone.page
    page.goto(site.add("/framed", f"""<!doctype html><html><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
        <title>Framed</title><script src="{listener}"></script></head><body style="margin:0">
        <iframe src="{base}/f/growth/frame" title="Sign up" style="width:100%;border:0;display:block"
                height="120"></iframe><p id="after">Below the form</p></body></html>"""))
    frame_element = page.locator("iframe")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_label("Email address")).to_be_visible()

    def fits() -> bool:
        """The iframe is as tall as the form inside it: nothing cut off, no empty space below."""
        inner = frame_element.element_handle().content_frame()
        content, scrolls = inner.evaluate("[document.documentElement.getBoundingClientRect().height, "
                                          "document.documentElement.scrollHeight]")
        height = frame_element.bounding_box()["height"]
        return abs(height - content) <= 1 and scrolls <= height + 1

    page.wait_for_function("document.querySelector('iframe').getBoundingClientRect().height > 120")
    assert fits(), "the iframe does not follow the height of its form"
    before = frame_element.bounding_box()["height"]

    # Send it empty: errors make the form taller, and the frame follows, nothing cut off.
    frame.get_by_role("button", name="Sign up").click()
    expect(frame.get_by_text("This field is required.")).to_be_visible()
    page.wait_for_function(f"document.querySelector('iframe').getBoundingClientRect().height > {before}")
    deadline = time.monotonic() + 5
    while not fits() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert fits(), "after a submit with errors the iframe is not as tall as its form"
    expect(frame.get_by_role("button", name="Sign up")).to_be_visible()
    expect(page.locator("#after")).to_be_visible()
    phone.assert_fits_the_screen()
    assert contacts(live_app) == 0


def test_the_form_appears_on_the_second_page_view(app, live_server, site, phone):
    _, base = live_server
    publish(app, form_spec(site, display={"mode": "inline", "trigger": "pageviews", "value": 2}), LISTS)
    page = phone.page
    first = site.add("/blog/first", article(base, title="First article"))
    second = site.add("/blog/second", article(base, title="Second article"))

    with page.expect_response(lambda r: "/definition" in r.url):
        page.goto(first)
    page.wait_for_timeout(300)
    expect(page.get_by_label("Email address")).to_have_count(0)

    page.goto(second)
    expect(page.get_by_role("heading", name="Get the growth letter")).to_be_visible()
    expect(page.get_by_label("Email address")).to_be_visible()


def test_a_dismissed_panel_stays_away(app, live_server, site, phone):
    _, base = live_server
    publish(app, form_spec(site, display={"mode": "panel", "trigger": "immediate", "dismiss_days": 30}), LISTS)
    page = phone.page
    post = site.add("/blog/post", article(base))
    panel = page.get_by_role("dialog", name="Get the growth letter")

    page.goto(post)
    expect(panel).to_be_visible()
    expect(panel.get_by_label("Email address")).to_be_visible()
    phone.assert_fits_the_screen()
    close = panel.get_by_role("button", name="Close")
    assert_tappable(close)
    close.click()
    expect(panel).to_have_count(0)

    for _ in range(2):
        with page.expect_response(lambda r: "/definition" in r.url):
            page.reload()
        page.wait_for_timeout(300)
        expect(panel).to_have_count(0)

    # A month later it comes back once; Escape closes it from the keyboard.
    page.evaluate("localStorage.setItem('listserver:growth:dismissed', String(Date.now() - 31 * 864e5))")
    page.reload()
    expect(panel).to_be_visible()
    panel.get_by_label("Email address").focus()
    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)
    with page.expect_response(lambda r: "/definition" in r.url):
        page.reload()
    page.wait_for_timeout(300)
    expect(panel).to_have_count(0)


def test_fits_a_360_pixel_phone(app, live_server, site, phone, tmp_path):
    _, base = live_server
    spec = form_spec(site, title="Get the growth letter: twice a month, straight to your inbox, no spam",
                     fields=["email", {"key": "first_name", "required": False}, "company"], fields_per_view=3)
    publish(app, spec, LISTS)
    page = phone.page
    page.goto(site.add("/blog/post", article(base)))
    email = page.get_by_label("Email address")
    expect(email).to_be_visible()
    # Keyboard only: Tab into the form, type, Tab on, Enter on the button.
    page.keyboard.press("Tab")
    expect(email).to_be_focused()
    page.keyboard.type("a.very.long.address.that.goes.on.and.on@a-rather-long-company-domain.example-shop.net")
    page.keyboard.press("Tab")
    expect(page.get_by_label("First name")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Company")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign up")).to_be_focused()  # the bot trap is skipped
    page.screenshot(path=tmp_path / "embed-360.png", full_page=True)  # to look at when this test fails
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a 360 px phone: {width}px wide"
    for label in ("Email address", "First name", "Company"):
        box = page.get_by_label(label).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{label} sticks out of the screen"
    assert_tappable(page.locator("#signup").locator("input:not([type=hidden]):not([tabindex='-1']), button"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_focused()
    expect(page.get_by_text("we have sent you an email")).to_be_visible()
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"the answer scrolls sideways on a 360 px phone: {width}px wide"


def test_the_form_waits_for_the_reader_to_scroll_or_for_some_seconds(app, live_server, site, phone):
    _, base = live_server
    publish(app, form_spec(site, display={"trigger": "scroll", "value": 60}), LISTS)
    publish(app, form_spec(site, slug="later", display={"mode": "panel", "trigger": "seconds", "value": 2}))
    page = phone.page
    long_article = "".join(f"<p>Paragraph {n} of a long article.</p>" for n in range(80))
    with page.expect_response(lambda r: "/definition" in r.url):
        page.goto(site.add("/blog/long", article(base, before=long_article)))
    page.wait_for_timeout(300)
    expect(page.get_by_label("Email address")).to_have_count(0)
    page.mouse.wheel(0, 500)  # about 45 % of the article seen
    page.wait_for_timeout(300)
    expect(page.get_by_label("Email address")).to_have_count(0)  # not 60 % yet
    page.evaluate("window.scrollTo(0, document.scrollingElement.scrollHeight)")
    expect(page.get_by_label("Email address")).to_be_attached()

    page.goto(site.add("/blog/later", article(base, "later")))
    started = time.monotonic()
    panel = page.get_by_role("dialog", name="Get the growth letter")
    expect(panel).to_be_visible()
    assert time.monotonic() - started >= 1.5, "the panel did not wait its two seconds"


HOSTILE_SCRIPT = """
// What real pages do to the globals, all at once.
window.Promise = function () { throw new Error("this site has its own Promise"); };
window.fetch = function () { throw new Error("this site wraps fetch"); };
window.JSON = { parse: function () { throw new Error("JSON.parse replaced"); },
                stringify: function () { throw new Error("JSON.stringify replaced"); } };
Array.prototype.map = function () { throw new Error("Array.prototype.map replaced"); };
Array.prototype.forEach = function () { throw new Error("Array.prototype.forEach replaced"); };
Array.prototype.push = function () { throw new Error("Array.prototype.push replaced"); };
Array.prototype.indexOf = function () { throw new Error("Array.prototype.indexOf replaced"); };
Array.prototype.concat = function () { throw new Error("Array.prototype.concat replaced"); };
Function.prototype.bind = function () { throw new Error("Function.prototype.bind replaced"); };
Object.keys = function () { throw new Error("Object.keys replaced"); };
window.Element = undefined; window.URL = undefined; window.URLSearchParams = undefined;
Object.prototype.polluted = "yes";
window.listserver = { version: "someone else's" };
window.listserverEmbed = "taken";
window.define = function () { throw new Error("AMD define called"); };
window.define.amd = { jQuery: true };
Object.defineProperty(window, "localStorage", { configurable: true, get: function () {
  throw new DOMException("The operation is insecure.", "SecurityError"); } });
document.documentElement.setAttribute("data-site-script", "ran");
"""


def test_a_hostile_page_with_a_strict_policy_and_no_storage_still_gets_a_working_form(app, live_server, site,
                                                                                      phone):
    live_app, base = live_server
    publish(app, form_spec(site), LISTS)
    hostile = site.add("/js/site.js", HOSTILE_SCRIPT, "text/javascript")
    styles = site.add("/css/site.css", "#signup { --listserver-accent: #0a7c3a; } button { background: red; }",
                      "text/css")
    policy = (f"default-src 'self'; script-src 'self' {base}; connect-src {base}; style-src 'self'; "
              f"img-src 'self' data:; frame-src {base}; base-uri 'none'; form-action {base}")
    page = phone.page
    page.goto(site.add("/strict", article(
        base, head=f'<script src="{hostile}"></script><link rel="stylesheet" href="{styles}">'),
        Content_Security_Policy=policy))
    expect(page.locator("html")).to_have_attribute("data-site-script", "ran")

    email = page.get_by_label("Email address")
    expect(email).to_be_visible()
    sign_up = page.get_by_role("button", name="Sign up")
    expect(sign_up).to_have_css("background-color", ACCENT)  # styled, despite style-src 'self'
    email.fill("hana.hostile@example-shop.net")
    page.get_by_label("First name").fill("Hana")
    sign_up.click()
    expect(page.get_by_text("we have sent you an email")).to_be_visible()
    stored = contact_in(live_app, "hana.hostile@example-shop.net")
    assert stored is not None and stored.attributes == {"first_name": "Hana"}
    # No storage: the next page view is a new visitor again, and still works.
    page.reload()
    expect(page.get_by_label("Email address")).to_be_visible()


def test_the_embedded_form_speaks_the_visitor_language(app, live_server, site, browser):
    _, base = live_server
    title = {"en": "Get the growth letter", "de": "Holen Sie sich den Wachstumsbrief", "ru": "Получите письмо о росте"}
    publish(app, form_spec(site, language="auto", title=title), LISTS)
    russian = Phone(browser, locale="ru-RU")
    try:
        page = russian.page
        page.goto(site.add("/blog/ru", article(base)))
        expect(page.get_by_role("heading", name=title["ru"])).to_be_visible()
        expect(page.get_by_label("Адрес электронной почты")).to_be_visible()
        expect(page.get_by_role("button", name="Подписаться")).to_be_visible()
        # The site may choose the language itself; that wins over the browser's.
        page.goto(site.add("/blog/de", article(base).replace('data-target="#signup"',
                                                            'data-target="#signup" data-lang="de"')))
        expect(page.get_by_role("heading", name=title["de"])).to_be_visible()
        expect(page.get_by_label("E-Mail-Adresse")).to_be_visible()
        expect(page.get_by_role("button", name="Anmelden")).to_be_visible()
    finally:
        russian.close()
    assert russian.problems == []
