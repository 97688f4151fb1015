"""The server's listening sockets, bound on their own so that ``workbench serve`` can take its
port first: a browser opened at once then waits for the answer instead of being refused."""

from __future__ import annotations

import errno
import socket

from tornado.netutil import bind_sockets

from workbench.errors import ServerError

__all__ = ["listen"]


def listen(host: str, port: int) -> list[socket.socket]:
    """Bind and listen on ``host:port`` (0: a free port); connections wait until served.

    Raises:
        ServerError: The port is in use, or the address cannot be listened on.
    """
    try:
        return bind_sockets(port, host, family=socket.AF_INET if host not in ("::", "::1") else socket.AF_UNSPEC)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServerError(
                f"Port {port} on {host} is already in use (another workbench serve, or an OTLP "
                "collector?); pass --port with another number, --port 0 for any free port, or "
                "stop the other process."
            ) from None
        raise ServerError(f"Cannot listen on {host}:{port}: {exc.strerror}; check --host and --port.") from None
