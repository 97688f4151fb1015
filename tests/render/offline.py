"""Opening a saved HTML file in headless chromium with no server running and no request allowed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

DEADLINE_MS = 30_000


@dataclass
class OfflinePage:
    """A tab on a local file that aborts and records every request other than the file itself."""

    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_nothing_left_the_page(self) -> None:
        assert self.requests == [], f"requests left the page: {self.requests}"
        assert self.errors == [], f"errors in the page: {self.errors}"


@contextmanager
def offline_page(browser: Any, path: Path, *, width: int = 1300, height: int = 900) -> Iterator[OfflinePage]:
    """``path`` opened as ``file://``; every other request (any scheme) is aborted and recorded."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    opened = OfflinePage(page)
    url = path.resolve().as_uri()

    def route(request_route: Any) -> None:
        if request_route.request.url == url:
            request_route.continue_()
        else:
            opened.requests.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    page.on("request", lambda r: r.url != url and r.url not in opened.requests and opened.requests.append(r.url))
    page.on("websocket", lambda ws: opened.requests.append(ws.url))
    page.on("pageerror", lambda e: opened.errors.append(f"page error: {e}"))
    page.on("console", lambda m: opened.errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto(url)
    try:
        yield opened
    finally:
        context.close()


def markup_of(fragment: str) -> Counter:
    """How many elements of each tag the HTML holds, and under ``linked`` how many attributes
    could fetch something or run code (``src``, ``href``, ``srcset``, ``on*``, ``url(``)."""
    found: Counter = Counter()
    found["linked"] = 0

    class Walk(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found[tag] += 1
            for name, value in attrs:
                if name in ("src", "href", "srcset", "action", "formaction") or name.startswith("on") or (
                        "url(" in (value or "")):
                    found["linked"] += 1

    Walk().feed(fragment)
    return found
