"""How every command reports a :class:`~workbench.errors.WorkbenchError`: one line, no traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from workbench.errors import StoreLockedError, WorkbenchError

__all__ = ["one_line_errors", "server_url_option"]

F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(func: F) -> F:
    """Print a WorkbenchError raised by the command as ``Error: ...`` on stderr and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except WorkbenchError as exc:
            if isinstance(exc, StoreLockedError):  # the fix on the command line is --url
                exc = exc.for_cli()
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def server_url_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback for ``--url``: ``127.0.0.1:4318`` means ``http://127.0.0.1:4318``."""
    if value is None:
        return None
    from workbench.remote import as_url

    try:
        return as_url(value)
    except WorkbenchError as exc:
        raise click.BadParameter(str(exc)) from None
