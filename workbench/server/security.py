"""Who may talk to the server: the host names it answers, the web pages it trusts, its token.

Every request, to the app, the HTTP API, OTLP or the app's websocket, passes :class:`Guard`
before any handler sees it, in this order:

1. **Host.** The ``Host`` header must be a loopback name (``localhost``, ``127.0.0.0/8``,
   ``[::1]``, any port) or a name the user allows (``WORKBENCH_ALLOWED_HOSTS``). A
   DNS-rebinding page reaches the server under a name of its own, so it gets 403.
2. **Origin.** A request a browser sends from another web page (its ``Origin`` is not the
   server's own) gets 403, unless it posts spans to ``/v1/traces`` from an origin the user
   allows (``WORKBENCH_ALLOWED_ORIGINS``, for browser OTel exporters), which also gets the
   CORS headers and its preflight answered.
3. **Token.** With a token (required when listening beyond loopback), a request must present
   it: ``Authorization: Bearer <token>``, ``X-Workbench-Token: <token>`` (for the recording
   proxy, whose callers send their provider's key in ``Authorization``), the cookie a
   browser gets from ``?token=<token>``, or ``?token=`` itself. Otherwise 401.
4. **Writes.** A ``POST``, ``PUT`` or ``PATCH`` must say it carries JSON or protobuf, which a
   web page cannot send to another origin without the browser asking first (a preflight,
   refused above). Otherwise 415. The recording proxy also forwards uploads
   (``multipart/form-data``, ``application/octet-stream``: files, audio) to the provider.

A refusal is answered before the body is read, with one sentence saying what to do: JSON
under ``/api/`` (``{"error": ...}``) and ``/v1/`` (OTLP's ``{"code", "message"}``), the
provider's error format under ``/proxy/openai`` and ``/proxy/anthropic``, plain text elsewhere.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tornado import httputil
from tornado.routing import Router
from tornado.web import Application, RequestHandler, stream_request_body

from workbench import config
from workbench.errors import ConfigError
from workbench.server.admission import media_type
from workbench.server.proxy_parse import provider_error, proxy_provider

__all__ = ["Access", "Guard", "is_loopback", "new_token"]

logger = logging.getLogger(__name__)

CORS_PATHS = frozenset({"/v1/traces"})
"""The only routes another web page may reach, and only from an allowed origin."""

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
WRITE_TYPES = frozenset({"application/json", "application/x-protobuf"})
PROXY_UPLOAD_TYPES = frozenset({"multipart/form-data", "application/octet-stream"})
"""What the recording proxy also forwards (file and audio uploads): a web page's form could send
these, but it is refused by its Origin above, and a forwarded upload carries no provider key
unless the caller sent one."""
_LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
_WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})


def new_token() -> str:
    """A fresh random token (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


@functools.lru_cache(maxsize=1024)
def is_loopback(host: str) -> bool:
    """Whether a host name or address (no port) names this machine's loopback interface."""
    name = host.strip().lower().strip("[]")
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_host(value: str) -> tuple[str, int | None]:
    """Split a ``Host`` header or an origin's netloc into a lowercase name and a port.

    ``[::1]:4318`` gives ``("::1", 4318)``; a malformed port gives ``(name, -1)``.
    """
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        name, _, port = value.partition(":")
    else:
        name, port = value, ""
    if not port:
        return name, None
    return name, int(port) if port.isdigit() else -1


def _origin_netloc(origin: str) -> tuple[str, int | None] | None:
    """An ``Origin`` header as (name, port) with the scheme's default port filled in; None if opaque."""
    parsed = urllib.parse.urlsplit(origin.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return None  # "null" (sandboxed frames, files) and other opaque origins
    name, port = split_host(parsed.netloc)
    return name, port if port is not None else (443 if parsed.scheme == "https" else 80)


def _checked_origin(origin: str) -> str:
    if _origin_netloc(origin) is None or urllib.parse.urlsplit(origin.strip()).path not in ("", "/"):
        raise ConfigError(
            f"The allowed origin {origin!r} is not a web page origin; write it as scheme://host[:port], "
            "e.g. http://localhost:3000, in WORKBENCH_ALLOWED_ORIGINS or --allowed-origin."
        )
    return _normal_origin(origin)


def _normal_origin(origin: str) -> str:
    parsed = urllib.parse.urlsplit(origin.strip().rstrip("/"))
    return f"{parsed.scheme.lower()}://{parsed.netloc.lower()}"


def _own_names() -> set[str]:
    """This machine's host names and their addresses: what users type when it listens everywhere."""
    names: set[str] = set()
    name = socket.gethostname()  # not getfqdn(): a reverse lookup can take seconds
    if name:
        names.add(name.lower())
        try:
            names.update(str(info[4][0]).lower() for info in socket.getaddrinfo(name, None))
        except OSError:
            pass
    return names


@dataclass(frozen=True)
class Access:
    """The access rules of one server.

    Attributes:
        bind: The address the server listens on.
        port: Its port.
        hosts: Host names accepted besides loopback ones (``*``: any).
        origins: Web page origins allowed to post spans to ``/v1/traces`` (``*``: any).
        token: The token every request must present, or None.
    """

    bind: str
    port: int
    hosts: frozenset[str]
    origins: frozenset[str]
    token: str | None

    @classmethod
    def for_server(
        cls,
        bind: str,
        port: int,
        *,
        token: str | None = None,
        allowed_hosts: Iterable[str] | str | None = None,
        allowed_origins: Iterable[str] | str | None = None,
    ) -> Access:
        """The rules for a server listening on ``bind:port``; arguments beat settings.

        Beyond loopback a token is required: the one given (or ``WORKBENCH_TOKEN``), else a new
        one. The bound address, and on every interface this machine's names, are accepted hosts.

        Raises:
            ConfigError: An allowed origin is not of the form ``scheme://host[:port]``.
        """
        hosts = {h.lower().strip("[]") for h in config.get("allowed_hosts", allowed_hosts)}
        origins = {o if o == "*" else _checked_origin(o) for o in config.get("allowed_origins", allowed_origins)}
        secret = config.get("token", token) or None
        if bind in _WILDCARD_BINDS:
            hosts |= _own_names()
        elif not is_loopback(bind):
            hosts.add(bind.lower().strip("[]"))
        if not is_loopback(bind) and secret is None:
            secret = new_token()
        return cls(bind, port, frozenset(hosts), frozenset(origins), secret)

    @property
    def beyond_loopback(self) -> bool:
        """Whether other machines can reach the server."""
        return self.bind in _WILDCARD_BINDS or not is_loopback(self.bind)

    @property
    def cookie_name(self) -> str:
        """The cookie a browser keeps the token in (per port: cookies ignore ports)."""
        return f"workbench_token_{self.port}"

    def host_allowed(self, host_header: str) -> bool:
        """Whether a ``Host`` header names this server (a loopback name, or an allowed one)."""
        name, port = split_host(host_header)
        if port == -1 or not name:
            return False
        return is_loopback(name) or "*" in self.hosts or name in self.hosts

    def same_origin(self, origin: str, host_header: str) -> bool:
        """Whether the page that sent ``Origin`` was served by this server: under ``Host``, or
        under another of its names (a loopback or an allowed one) on its port."""
        page = _origin_netloc(origin)
        if page is None:
            return False
        name, port = split_host(host_header)
        if port is None:  # a browser leaves the port out of Host only when it is the scheme's
            port = 443 if origin.strip().lower().startswith("https:") else 80
        if page == (name, port):
            return True
        return page[1] in (port, self.port) and (is_loopback(page[0]) or page[0] in self.hosts)

    def origin_allowed(self, origin: str) -> bool:
        """Whether a web page from ``origin`` may post spans (CORS)."""
        if _origin_netloc(origin) is None:
            return False
        return "*" in self.origins or _normal_origin(origin) in self.origins

    def token_matches(self, presented: str | None) -> bool:
        """Whether ``presented`` is the token, compared in constant time."""
        if self.token is None:
            return True
        return presented is not None and hmac.compare_digest(presented.encode(), self.token.encode())

    def websocket_origins(self) -> list[str]:
        """The app's websocket allowlist, in Bokeh's ``host:port`` patterns."""
        if "*" in self.hosts:
            return ["*"]
        names = {"localhost", "127.*.*.*", "[::1]"} | {f"[{h}]" if ":" in h else h for h in self.hosts}
        return sorted(f"{name}:{self.port}" for name in names)

    def app_url(self, base: str) -> str:
        """``base`` with the token a browser presents once (``?token=``), if there is one."""
        return f"{base}/?token={self.token}" if self.token else f"{base}/"

    def cors_headers(self, origin: str | None, requested: str | None = None) -> dict[str, str]:
        """The CORS headers for a request to ``/v1/traces`` from ``origin``; none if not allowed."""
        if not origin or not self.origin_allowed(origin):
            return {}
        names = ["Content-Type", "Content-Encoding", "Authorization"]
        # The origin is trusted: let its exporter send the headers it was configured with.
        names += [h.strip() for h in (requested or "").split(",") if h.strip()]
        unique: dict[str, str] = {}
        for name in names:
            unique.setdefault(name.lower(), name)
        allowed = ", ".join(unique.values())
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": allowed,
            "Access-Control-Max-Age": "600",
            # Exporters that send with sendBeacon make credentialed requests; the origin is named.
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }

    def check(self, request: httputil.HTTPServerRequest) -> tuple[int, str] | None:
        """Why ``request`` is refused, as (status, sentence), or None to let it through."""
        headers = request.headers
        host = headers.get("Host")
        if host is not None and not self.host_allowed(host):
            return 403, (
                f"This server does not answer to the host name {host!r} (a DNS-rebinding page would "
                "use such a name); use http://127.0.0.1, or allow the name with "
                "WORKBENCH_ALLOWED_HOSTS / --allowed-host."
            )
        origin = headers.get("Origin")
        cross_site = origin is not None and not self.same_origin(origin, host or "")
        if cross_site and origin is not None:
            if request.path not in CORS_PATHS or not self.origin_allowed(origin):
                return 403, (
                    f"Requests from the web page at {origin} are not allowed; to let browser "
                    "OTel exporters on it post spans to /v1/traces, add it to "
                    "WORKBENCH_ALLOWED_ORIGINS / --allowed-origin."
                )
            if request.method == "OPTIONS":
                return None  # a preflight carries no credentials; the handler answers it
        if not self.token_matches(self._presented_token(request)):
            return 401, (
                "This server needs its access token: send the header 'Authorization: Bearer <token>' "
                "(OTel exporters: OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>; "
                "workbench clients: WORKBENCH_TOKEN), or open the address `workbench serve` printed, "
                "which ends in ?token=<token>."
            )
        if request.method in WRITE_METHODS:
            media = media_type(headers)
            upload = media in PROXY_UPLOAD_TYPES and proxy_provider(request.path) is not None
            if media not in WRITE_TYPES and not upload:
                return 415, (
                    f"Content-Type {media or '(none)'!r} is not supported for a {request.method}; send "
                    "application/json (or application/x-protobuf for OTLP)."
                )
        return None

    def _presented_token(self, request: httputil.HTTPServerRequest) -> str | None:
        if self.token is None:
            return None
        # The recording proxy's callers send the provider's key in Authorization: this one
        # carries workbench's own token beside it.
        own = (request.headers.get("X-Workbench-Token") or "").strip()
        if own:
            return own
        scheme, _, value = (request.headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        query = urllib.parse.parse_qs(request.query).get("token")
        if query:
            return query[-1]
        cookies = request.cookies
        if self.cookie_name in cookies:
            return cookies[self.cookie_name].value
        return None


def _without_token(request: httputil.HTTPServerRequest) -> str:
    pairs = [(k, v) for k, v in urllib.parse.parse_qsl(request.query, keep_blank_values=True) if k != "token"]
    path = "/" + request.path.lstrip("/")  # never "//host": that would leave this server
    return path + ("?" + urllib.parse.urlencode(pairs) if pairs else "")


@stream_request_body
class _Refusal(RequestHandler):
    """Answers a refused request at once; its body, if any, is never kept."""

    def initialize(self, status: int, message: str) -> None:  # tornado's hook
        self.status, self.message = status, message

    def prepare(self) -> None:
        self.set_status(self.status)
        if self.status == 401:
            self.set_header("WWW-Authenticate", 'Bearer realm="workbench"')
        path = self.request.path
        if path.startswith("/api/"):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"error": self.message}))
        elif proxy_provider(path) is not None:  # the provider's format: its SDK raises its usual error
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(provider_error(proxy_provider(path), self.status, self.message)))
        elif path.startswith("/v1/"):
            # OTLP's error body (google.rpc.Status as JSON); 16 UNAUTHENTICATED, 7 PERMISSION_DENIED.
            code = {401: 16, 403: 7}.get(self.status, 3)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"code": code, "message": self.message}))
        else:
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(self.message + "\n")

    def data_received(self, chunk: bytes) -> None:
        pass


class _TokenCookie(RequestHandler):
    """``?token=`` on a page: keep the token in a cookie and show the address without it."""

    def initialize(self, access: Access, location: str) -> None:
        self.access, self.location = access, location

    def get(self) -> None:
        self.set_cookie(self.access.cookie_name, self.access.token or "", httponly=True, samesite="Lax", path="/")
        self.redirect(self.location or "/")


class Guard(Router):
    """The router in front of a Tornado application that applies :class:`Access` to every request.

    Args:
        application: The application serving what is let through.
        access: The rules.
    """

    def __init__(self, application: Application, access: Access) -> None:
        self.application = application
        self.access = access

    def find_handler(  # tornado's hook
        self, request: httputil.HTTPServerRequest, **kwargs: Any
    ) -> httputil.HTTPMessageDelegate | None:
        refusal = self.access.check(request)
        if refusal is not None:
            status, message = refusal
            logger.info("refused %s %s from %s: %s", request.method, request.path, request.remote_ip, message)
            return self.application.get_handler_delegate(request, _Refusal, {"status": status, "message": message})
        if (
            self.access.token is not None
            and request.method == "GET"
            and "token" in urllib.parse.parse_qs(request.query)
            and not request.path.startswith(("/api/", "/v1/", "/ws"))
        ):
            return self.application.get_handler_delegate(
                request, _TokenCookie, {"access": self.access, "location": _without_token(request)}
            )
        return self.application.find_handler(request, **kwargs)

