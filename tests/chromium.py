"""A real headless Chromium for the browser tests: Debian's, never a downloaded one.

The fixtures `browser` (one per test module) and `phone` (a phone-sized tab) are in conftest.py.
"""

from __future__ import annotations


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
        self.page.on("requestfailed", lambda request: self.problems.append(
            f"request failed: {request.url} ({request.failure})"))
        self.page.on("response", self._check_response)

    def _check_console(self, message) -> None:
        # "Failed to load resource" is also said of a 422 page and of the browser's own favicon
        # request; the files a page asks for are checked by their responses below, with their URL.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

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
