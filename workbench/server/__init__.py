"""``workbench serve``: one port for the OTLP receiver, the HTTP API and the app.

:class:`Server` (in :mod:`workbench.server.server`) loads on first use, so the decode
workers, which import :mod:`workbench.server.decode` alone, do not load Tornado.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.server.server import Server

__all__ = ["Server"]


def __getattr__(name: str) -> Any:
    if name == "Server":
        from workbench.server.server import Server

        return Server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
