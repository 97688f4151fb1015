"""A progress bar for evaluation runs: tqdm when installed, else a plain one on stderr."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """Counts finished tasks and shows them.

    Args:
        total: How many tasks there are.
        description: Shown before the bar.
        enabled: False shows nothing (tests, quiet scripts).
        stream: Where to draw (default stderr).
    """

    def __init__(self, total: int, description: str = "evaluating", *, enabled: bool = True,
                 stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.description = description
        self.stream = stream or sys.stderr
        self._bar: Any = None
        self._last = 0.0
        self._began = time.monotonic()
        self.enabled = enabled and total > 0
        if self.enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                self._bar = tqdm(total=total, desc=description, unit="task", file=self.stream, leave=True)

    def __enter__(self) -> Progress:  # typing.Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, ok: bool = True) -> None:
        """One more task finished (``ok=False`` when it failed)."""
        self.done += 1
        self.failed += 0 if ok else 1
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(1)
            if self.failed:
                self._bar.set_postfix(failed=self.failed, refresh=False)
            return
        now = time.monotonic()
        if now - self._last >= 0.2 or self.done == self.total:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        width = 30
        filled = int(width * self.done / self.total)
        rate = self.done / max(1e-9, time.monotonic() - self._began)
        failed = f", {self.failed} failed" if self.failed else ""
        self.stream.write(
            f"\r{self.description}: [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
            f"({rate:.1f}/s{failed})"
        )
        self.stream.flush()

    def close(self) -> None:
        """Finish the bar."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
        else:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
        self.enabled = False
