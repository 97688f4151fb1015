"""What a failed connection says when TLS is to blame.

An ``https://`` address for a server that speaks plain http, or a certificate the client cannot
check, fails the same way on every retry, and "cannot reach the server" sends its user to look
for a server that is in fact running. The HTTP clients (the judge, the playground, webhooks,
the remote reader) ask :func:`tls_failure` first and say this sentence at once instead.
"""

from __future__ import annotations

import ssl

__all__ = ["tls_failure"]

# OpenSSL's reasons when the other end answered in plain http.
_PLAIN_HTTP = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"})


def tls_failure(reason: object, who: str, url: str, setting: str = "address") -> str | None:
    """A sentence for a connection to ``url`` that failed in TLS, else None.

    Args:
        reason: The failure (an ``URLError``'s ``reason``, or the exception itself).
        who: What ``url`` is, to begin the sentence ("The judge endpoint").
        url: The address that was asked.
        setting: What the user sets to change the address ("base_url").
    """
    if not isinstance(reason, ssl.SSLError):
        return None
    code = reason.reason or str(reason)
    if code in _PLAIN_HTTP:
        return (f"{who} {url} does not speak TLS (https); if it is served over plain http, "
                f"use an http:// {setting} ({code}).")
    return (f"Cannot open a TLS connection to {who[:1].lower()}{who[1:]} {url} ({code}); "
            f"check its certificate and the {setting}.")
