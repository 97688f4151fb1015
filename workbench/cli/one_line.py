"""How every command reports a :class:`~workbench.errors.WorkbenchError`: one line, no traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from workbench.errors import StoreLockedError, WorkbenchError

__all__ = ["cli_message", "one_line_errors", "one_source", "server_url_option"]

F = TypeVar("F", bound=Callable[..., Any])


def cli_message(exc: WorkbenchError) -> str:
    """The error as a command prints it: a held file's fix is ``--url``, not Python's ``workbench.open``."""
    if isinstance(exc, StoreLockedError):
        exc = exc.for_cli()
    return f"Error: {exc}"


def one_source(**given: str | None) -> None:
    """Refuse two sources at once (``--db`` and ``--url`` ...): which one to read would be a guess.

    Raises:
        click.UsageError: More than one is given.
    """
    named = [f"--{name}" for name, value in given.items() if value]
    if len(named) > 1:
        raise click.UsageError(f"Give one of {', '.join(f'--{n}' for n in given)}, not {' and '.join(named)}: "
                               "each names where to read.")


def one_line_errors(func: F) -> F:
    """Print a WorkbenchError raised by the command as ``Error: ...`` on stderr and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except WorkbenchError as exc:
            click.echo(cli_message(exc), err=True)
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
