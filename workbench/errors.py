"""Errors workbench raises on purpose. Each message names the value, the rule and the fix.

The tree::

    WorkbenchError
    ├── ConfigError            a setting has a value it cannot take
    ├── StoreError             the database file cannot be used
    │   ├── StoreLockedError       another process holds the file
    │   ├── SchemaVersionError     the file was written by another schema version
    │   ├── DiskFullError          the database's disk is (nearly) full; writes wait for space
    │   └── ImportFormatError      an imported Parquet file is missing columns or tables
    ├── FilterError            a filter expression cannot be understood
    │   └── SqlError               a SQL query is refused (not one read-only SELECT ...) or fails
    ├── DecodeError            an OTLP request body cannot be decoded (the server answers 400)
    ├── QueueFullError         the write queue is full; retry later (the server answers 503)
    ├── NotFoundError          a trace, span or object that was asked for does not exist
    ├── ServerError            the server cannot start (port in use, bad address) or answer
    ├── CapabilityError        a reader lacks what was asked of it (SQL, writing annotations ...)
    │   └── RemoteReaderError      SQL analysis was given a server's reader (copy a range with snapshot)
    ├── LakeError              a Parquet lake cannot be reached, read or written
    └── EndpointError          a model endpoint (OpenAI-compatible) cannot be reached or refused a call

The command line prints a WorkbenchError as one line, never a traceback.
"""

from __future__ import annotations

__all__ = [
    "CapabilityError",
    "ConfigError",
    "DecodeError",
    "DiskFullError",
    "EndpointError",
    "FilterError",
    "ImportFormatError",
    "LakeError",
    "NotFoundError",
    "QueueFullError",
    "RemoteReaderError",
    "SchemaVersionError",
    "ServerError",
    "SqlError",
    "StoreError",
    "StoreLockedError",
    "WorkbenchError",
]


class WorkbenchError(Exception):
    """Base class of every error workbench raises on purpose."""


class ConfigError(WorkbenchError, ValueError):
    """A setting has a value it cannot take."""


class StoreError(WorkbenchError):
    """The database file cannot be opened or used."""


class StoreLockedError(StoreError):
    """Another process holds the database file.

    Attributes:
        path: The database file.
        pid: The process that holds it, when known.
        program: That process's program name, when known.
        url: The address of the workbench server that holds it, when it is one.

    The message's fix depends on where the user is: ``for_python()`` (read through the
    server with ``workbench.open(url)``), ``for_register()`` (send spans with
    ``endpoint=``) and ``for_cli()`` (pass ``--url``) each give the same error with its fix.
    """

    def __init__(self, path: str, *, pid: int | None = None, program: str | None = None,
                 url: str | None = None, where: str = "python") -> None:
        self.path = path
        self.pid = pid
        self.program = program
        self.url = url
        self.where = where
        super().__init__(self._message())

    def _message(self) -> str:
        if self.url:
            holder = f"the workbench server at {self.url} (PID {self.pid})"
        elif self.pid is not None:
            holder = f"another process (PID {self.pid}{', ' + self.program if self.program else ''})"
        else:
            holder = "another process"
        head = f"The database file {self.path} is in use by {holder}"
        if not self.url:
            return f"{head}; stop that process, or pass another database file."
        fixes = {
            "python": f"read it through that server with workbench.open({self.url!r})",
            "register": f"send spans to that server with workbench.register(endpoint={self.url!r})",
            "cli": f"pass --url {self.url} to read through that server",
        }
        return f"{head}; {fixes[self.where]}, or stop that server first."

    def _where(self, where: str) -> StoreLockedError:
        return StoreLockedError(self.path, pid=self.pid, program=self.program, url=self.url, where=where)

    def for_python(self) -> StoreLockedError:
        """The same error, with the fix for a notebook or script that reads."""
        return self._where("python")

    def for_register(self) -> StoreLockedError:
        """The same error, with the fix for ``workbench.register()``."""
        return self._where("register")

    def for_cli(self) -> StoreLockedError:
        """The same error, with the fix for the command line."""
        return self._where("cli")


class SchemaVersionError(StoreError):
    """The database file was written with another schema version."""


class DiskFullError(StoreError):
    """The disk that holds the database has less free space than workbench keeps free."""


class ImportFormatError(StoreError):
    """An imported Parquet file does not have the columns or tables workbench writes."""


class FilterError(WorkbenchError, ValueError):
    """A filter expression cannot be parsed or names an unknown field."""


class SqlError(FilterError):
    """A SQL query is refused (not one read-only SELECT over the documented tables), ran past
    its deadline, or failed; the message says what is allowed."""


class DecodeError(WorkbenchError, ValueError):
    """An OTLP request body cannot be decoded."""


class QueueFullError(WorkbenchError):
    """The write queue is full; the caller should retry after a moment."""


class NotFoundError(WorkbenchError, KeyError):
    """A trace, span or other object that was asked for does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ServerError(WorkbenchError):
    """The server cannot start or cannot answer."""


class CapabilityError(WorkbenchError, AttributeError):
    """A reader was asked for a capability its source lacks (see :mod:`workbench.read.source`).

    Also an AttributeError, so ``hasattr(reader, "sql")`` is False for such a reader.
    """


class RemoteReaderError(CapabilityError):
    """Analysis that runs SQL over the store was given a server's reader, which has no store.

    Also an AttributeError, so ``hasattr(reader, "store")`` stays False for such a reader.
    """


class LakeError(WorkbenchError):
    """A Parquet lake (a folder or an ``s3://`` prefix) cannot be reached, read or written."""


class EndpointError(WorkbenchError):
    """An OpenAI-compatible model endpoint cannot be reached, refused a request, or answered
    something that is not a chat completion (the message names the URL and the fix)."""
