"""A real browser for tests: Debian's chromium driven by Playwright, offline."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class OfflinePage:
    """A page showing a local file, with every request it made and those it was refused."""

    page: object
    requested: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@contextmanager
def offline_page(path: Path, width: int = 1200, height: int = 900) -> Iterator[OfflinePage]:
    """`path` loaded in headless Chromium; any request for something not `file:` is blocked."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "install Debian's chromium: bash .ci/system-packages"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        shown = OfflinePage(browser.new_page(viewport={"width": width, "height": height}))

        def local_files_only(route) -> None:
            if route.request.url.startswith("file:"):
                route.continue_()
            else:
                shown.blocked.append(route.request.url)
                route.abort()

        shown.page.on("request", lambda request: shown.requested.append(request.url))
        shown.page.route("**/*", local_files_only)
        shown.page.goto(path.as_uri())
        shown.page.wait_for_load_state("networkidle")
        try:
            yield shown
        finally:
            browser.close()
