"""A real headless Chromium for the browser tests: Debian's, never a downloaded one.

The fixtures `browser` (one per test module), `phone` (a phone-sized tab) and `site` (a
HostSite: the business's own website on another origin) are in conftest.py.
"""

from __future__ import annotations

import http.server


def expect(target):
    """Playwright's expect, imported when a browser test runs (not when the suite is collected)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 360, "height": 740}


class Phone:
    """A fresh phone-sized tab that notes what would look broken: script errors, missing files."""

    def __init__(self, browser, locale: str = "en-GB"):
        self.context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                           device_scale_factor=2, locale=locale)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("console", self._check_console)
        self.page.on("requestfailed", self._check_failure)
        self.page.on("response", self._check_response)

    def _check_console(self, message) -> None:
        # "Failed to load resource" is also said of a 422 page and of the browser's own favicon
        # request; the files a page asks for are checked by their responses below, with their URL.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

    def _check_failure(self, request) -> None:
        # ERR_ABORTED is the browser dropping a request because the page moved on (a form sent
        # while its stylesheet was still loading, on a busy machine): nothing a person would see.
        # A file that is missing answers 4xx (below); a server that is away fails otherwise.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _check_response(self, response) -> None:
        # The page itself may answer 422 (a form with errors); what it loads must all be there.
        if response.status >= 400 and response.request.resource_type != "document":
            self.problems.append(f"{response.status} for {response.url}")

    def assert_fits_the_screen(self) -> None:
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{self.page.url} scrolls sideways on a phone: {width}px wide"

    def assert_styled(self) -> None:
        # The stylesheet loaded: the main button has the accent colour it is meant to have.
        color = self.page.locator("button, a.button").first.evaluate("e => getComputedStyle(e).backgroundColor")
        assert color == "rgb(31, 95, 191)", f"{self.page.url} looks unstyled (button background {color})"

    def close(self) -> None:
        self.context.close()


class HostSite:
    """The business's own website: pages by path, each with its own response headers."""

    def __init__(self):
        self.pages: dict[str, tuple[bytes, str, dict]] = {}
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                page = site.pages.get(self.path.split("?")[0])
                if page is None:
                    self.send_error(404)
                    return
                body, content_type, headers = page
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.origin = f"http://localhost:{self.port}"  # on the allow-list
        self.foreign_origin = f"http://127.0.0.1:{self.port}"  # the same pages, from a site that is not

    def add(self, path: str, body: str, content_type: str = "text/html; charset=utf-8", **headers) -> str:
        self.pages[path] = (body.encode(), content_type, {k.replace("_", "-"): v for k, v in headers.items()})
        return self.origin + path
