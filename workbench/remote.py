"""The read API over HTTP: :class:`RemoteReader` asks a running ``workbench serve``.

Only one process can open a DuckDB file while another writes it, so a notebook reads a
served store through the server. Tables travel as Arrow IPC streams; the methods and their
arguments are those of :class:`workbench.query.Reader`, and it follows the reader protocol of
:mod:`workbench.read.source` with the ``annotate`` capability only. A user's SQL
(:meth:`RemoteReader.sql`) runs on the server, checked and capped; the analyses' SQL
(``query``, ``rows``, ``registered``) is refused in one sentence that says how to copy a range
into memory instead.
"""

from __future__ import annotations

import http.client
import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workbench import config
from workbench.config import as_url
from workbench.errors import (
    CapabilityError,
    ConfigError,
    FilterError,
    NotFoundError,
    RemoteReaderError,
    ServerError,
    SqlError,
    WorkbenchError,
)
from workbench.tls import tls_failure
from workbench.tree import Trace

__all__ = ["RemoteReader", "as_url", "server_url"]

# host:port with no scheme, as people type it: 127.0.0.1:4318, localhost:4318, [::1]:4318.
_HOST_PORT = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):\d{1,5}(?:/\S*)?")


def server_url(target: object) -> str | None:
    """The base URL when ``target`` names a server (``http(s)://...`` or ``host:port``), else None."""
    if not isinstance(target, str):
        return None
    text = target.strip()
    if text.lower().startswith(("http://", "https://")) or _HOST_PORT.fullmatch(text):
        return as_url(text)
    return None


def _params(**kwargs: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in kwargs.items():
        if value is None or value is False:
            continue
        if isinstance(value, (list, tuple)):
            out.extend((key, str(v)) for v in value)
        elif value is True:
            out.append((key, "true"))
        elif hasattr(value, "isoformat"):
            out.append((key, value.isoformat()))
        else:
            out.append((key, str(value)))
    return out


def _selection(filter: Any, start: Any, end: Any, project: Any) -> dict[str, Any]:
    """The query's ``filter``, ``start``, ``end`` and ``project``; ``filter`` may be a whole
    :class:`workbench.read.Selection`, whose fields the other arguments, when given, replace."""
    if hasattr(filter, "trace_where"):  # a Selection (not imported: it would load the store)
        start = filter.start if start is None else start
        end = filter.end if end is None else end
        project = filter.project if project is None else project
        filter = filter.filter
    return {"filter": filter, "start": start, "end": end, "project": project}


def _path_part(value: Any, name: str) -> str:
    """An id or name to put in a URL path, lower case and quoted."""
    if not isinstance(value, str) or not value:
        raise FilterError(f"{name}={value!r} is not valid; give it as text.")
    return urllib.parse.quote(value.lower(), safe="")


def _json_body(body: Any) -> bytes:
    def plain(value: Any) -> Any:
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if hasattr(value, "item"):  # numpy numbers
            return value.item()
        if hasattr(value, "tolist"):  # numpy arrays
            return value.tolist()
        raise TypeError(type(value).__name__)

    try:
        return json.dumps(body, default=plain, allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        raise ConfigError(
            f"The values cannot be sent to the server as JSON ({exc}); give plain values: text, numbers, lists "
            "and dicts, with no NaN."
        ) from None


class RemoteReader:
    """Reads the store of a running ``workbench serve``.

    Args:
        url: The server's base URL, e.g. ``http://127.0.0.1:4318`` (``127.0.0.1:4318`` means the
            same); the address ``workbench serve`` printed, ending in ``?token=...``, works too.
        timeout: Seconds to wait for each answer.
        token: The server's access token (default: the one in ``url``, else ``WORKBENCH_TOKEN``),
            sent as ``Authorization: Bearer <token>``.
    """

    def __init__(self, url: str, *, timeout: float = 60.0, token: str | None = None) -> None:
        parts = urllib.parse.urlsplit(as_url(url))
        query = urllib.parse.parse_qs(parts.query)
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")).rstrip("/")
        self.timeout = timeout
        given = query.get("token")
        self._token = config.get("token", token or (given[-1] if given else None)) or None

    def __repr__(self) -> str:
        return f"RemoteReader({self.url!r})"

    def close(self) -> None:
        """Nothing to release; present so both readers can be closed alike."""

    def __enter__(self) -> RemoteReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Capabilities ----------------------------------------------------------------------

    #: A server reads and takes annotations; it runs no SQL for its readers and keeps its store.
    capabilities: frozenset[str] = frozenset({"annotate"})

    def refuse(self, capability: str) -> CapabilityError:
        """The one-sentence refusal for a capability a server's reader lacks."""
        if capability == "sql":
            return RemoteReaderError(
                f"Analyses, drift and monitors run SQL over the store, which the server at {self.url} does not "
                "do for its readers; copy a time range into memory and pass that: "
                "local = workbench.snapshot(wb, start=\"7d\")."
            )
        return RemoteReaderError(
            f"The server at {self.url} keeps its store to itself ({capability!r} needs a local store); "
            "open the database file directly, or copy a range: local = workbench.snapshot(wb, start=\"7d\")."
        )

    def sql(
        self,
        query: str,
        params: Sequence[Any] | None = None,
        *,
        arrow: bool = False,
        max_rows: int | None = None,
        timeout_s: float | None = None,
    ) -> pd.DataFrame | pa.Table:
        """Run one read-only SELECT on the server (``POST /api/sql``); see
        :meth:`workbench.query.Reader.sql`.

        The server's caps apply (``WORKBENCH_SQL_MAX_ROWS``, ``WORKBENCH_SQL_MAX_MB``,
        ``WORKBENCH_SQL_TIMEOUT_S``); when one cut the answer, a warning says so and the
        DataFrame's ``attrs["truncated"]`` names it (``rows`` or ``bytes``).

        Raises:
            SqlError: The server refused the query, or it failed or ran past its deadline.
        """
        if isinstance(params, (str, bytes)):
            raise SqlError("params must be a list of values, one per ? in the query, like ['LLM', 2000].")
        for name, value in (("max_rows", max_rows), ("timeout_s", timeout_s)):  # as a file's reader says it
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or value < 0):
                raise SqlError(f"{name}={value!r} is not valid; give a number from 0 up, like {name}=100.")
        body: dict[str, Any] = {"sql": query}
        if params is not None:
            body["params"] = list(params)
        if max_rows is not None:
            body["max_rows"] = max_rows
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        headers: dict[str, str] = {}
        _, payload = self._request("/api/sql", [("format", "arrow")], body, headers_out=headers)
        try:
            table = pa.ipc.open_stream(payload).read_all()
        except (pa.ArrowException, ValueError, OSError):
            raise self._not_workbench("/api/sql") from None
        truncated = headers.get("x-workbench-truncated")
        if truncated:
            warnings.warn(headers.get("x-workbench-note") or f"The answer was cut ({truncated}).", stacklevel=2)
        if arrow:
            return table
        frame = table.to_pandas()
        frame.attrs["truncated"] = truncated or None
        return frame

    def query(self, query: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Refused: a server runs no analysis SQL for its readers (see :meth:`refuse`)."""
        raise self.refuse("sql")

    def rows(self, query: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Refused: a server runs no SQL for its readers (see :meth:`refuse`)."""
        raise self.refuse("sql")

    def registered(self, **tables: pa.Table) -> Any:
        """Refused: a server runs no SQL for its readers (see :meth:`refuse`)."""
        raise self.refuse("sql")

    def table(self, name: str) -> pa.Table:
        """Every row of one stored table (``docs/schema.md``), as Arrow."""
        return self._table(f"/api/tables/{_path_part(name, 'table name')}")

    def _request(
        self, path: str, params: list[tuple[str, str]] | None = None, body: Any = None,
        headers_out: dict[str, str] | None = None,
    ) -> tuple[str, bytes]:
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        data = None if body is None else _json_body(body)
        request = urllib.request.Request(self.url + path + query, data=data, method="POST" if data else "GET")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if headers_out is not None:
                    headers_out.update((k.lower(), v) for k, v in response.headers.items())
                return response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as exc:
            raise self._error(path, exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerError(tls_failure(reason, "The workbench server at", self.url) or (
                f"Cannot reach a workbench server at {self.url} ({reason}); start one with "
                "`workbench serve`, or open the database file directly."
            )) from None
        except http.client.HTTPException as exc:  # the answer broke off or was not HTTP
            raise ServerError(
                f"The answer from {self.url}{path} broke off ({type(exc).__name__}); try again, or check the server."
            ) from None

    def _error(self, path: str, exc: urllib.error.HTTPError) -> WorkbenchError:
        """The server's error as the WorkbenchError it was on the server's side."""
        if exc.code == 401:
            given = "the one given was refused" if self._token else "none was given"
            return ServerError(
                f"The server at {self.url} needs its access token ({given}); pass token=..., set "
                "WORKBENCH_TOKEN, or use the address `workbench serve` printed (it ends in ?token=...)."
            )
        try:
            answer = json.loads(exc.read())
            message, kind = str(answer["error"]), answer.get("type")
        except (ValueError, TypeError, KeyError, OSError):
            return ServerError(
                f"{self.url} answered {exc.code} ({exc.reason}) for {path}, not as a workbench server does; "
                "give the base URL of `workbench serve`, like http://127.0.0.1:4318."
            )
        known = {cls.__name__: cls for cls in (ConfigError, FilterError, NotFoundError, ServerError, SqlError)}
        if kind in known:
            return known[kind](message)
        if exc.code == 404:
            return NotFoundError(message)
        if exc.code == 400:
            return FilterError(message)
        return WorkbenchError(f"The server at {self.url} answered {exc.code}: {message}")

    def _json(self, path: str, params: list[tuple[str, str]] | None = None, body: Any = None) -> Any:
        _, payload = self._request(path, params, body)
        try:
            return json.loads(payload)
        except ValueError:
            raise self._not_workbench(path) from None

    def _not_workbench(self, path: str) -> ServerError:
        return ServerError(
            f"{self.url}{path} answered with something workbench cannot read; is {self.url} a workbench "
            "server (`workbench serve`) of the same version?"
        )

    def _table(self, path: str, **kwargs: Any) -> pa.Table:
        _, payload = self._request(path, _params(**kwargs))
        try:
            return pa.ipc.open_stream(payload).read_all()
        except (pa.ArrowException, ValueError, OSError):
            raise self._not_workbench(path) from None

    @staticmethod
    def _out(table: pa.Table, arrow: bool) -> pd.DataFrame | pa.Table:
        return table if arrow else table.to_pandas()

    def spans(
        self,
        filter: str | None = None,
        *,
        start: Any = None,
        end: Any = None,
        project: str | Sequence[str] | None = None,
        trace_ids: Sequence[str] | None = None,
        root_only: bool = False,
        columns: Sequence[str] | None = None,
        order_by: str = "start_time",
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
        arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """Spans as a DataFrame; see :meth:`workbench.query.Reader.spans`."""
        table = self._table(
            "/api/spans", **_selection(filter, start, end, project), trace_id=trace_ids,
            root_only=root_only, columns=",".join(columns) if columns else None, order_by=order_by,
            descending=descending, limit=limit, offset=offset or None,
        )
        return self._out(table, arrow)

    def traces(
        self,
        filter: str | None = None,
        *,
        start: Any = None,
        end: Any = None,
        project: str | Sequence[str] | None = None,
        order_by: str = "start_time",
        descending: bool = True,
        limit: int | None = 100,
        offset: int = 0,
        arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """One row per trace; see :meth:`workbench.query.Reader.traces`."""
        table = self._table(
            "/api/traces", **_selection(filter, start, end, project), order_by=order_by,
            descending="true" if descending else "false", limit=limit, offset=offset or None,
        )
        frame = self._out(table, arrow)
        if not arrow:  # token totals are nullable integers, as a local reader's are
            for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
                if name in frame:
                    frame[name] = frame[name].astype("Int64")
        return frame

    def trace(self, trace_id: str, *, columns: Sequence[str] | None = None) -> Trace:
        """One trace as a tree (``columns``: keep only these span columns and the tree's keys)."""
        trace_id = _path_part(trace_id, "trace_id")
        table = self._table(f"/api/traces/{trace_id}")
        if columns is not None:
            keep = dict.fromkeys(["trace_id", "span_id", "parent_span_id", "start_time", "end_time", *columns])
            table = table.select([c for c in keep if c in table.column_names])
        return Trace(trace_id, table.to_pylist())

    def span(self, span_id: str) -> dict[str, Any]:
        """One span with its documents and embeddings."""
        return self._json(f"/api/spans/{_path_part(span_id, 'span_id')}")

    def documents(self, filter: str | None = None, *, span_ids: Sequence[str] | None = None,
                  trace_ids: Sequence[str] | None = None, start: Any = None, end: Any = None,
                  project: str | Sequence[str] | None = None, limit: int | None = None,
                  arrow: bool = False) -> pd.DataFrame | pa.Table:
        """Retrieved documents; see :meth:`workbench.query.Reader.documents`."""
        return self._out(self._table("/api/documents", span_id=span_ids, trace_id=trace_ids, limit=limit,
                                     **_selection(filter, start, end, project)), arrow)

    def embeddings(self, filter: str | None = None, *, span_ids: Sequence[str] | None = None,
                   trace_ids: Sequence[str] | None = None, start: Any = None, end: Any = None,
                   project: str | Sequence[str] | None = None, limit: int | None = None,
                   arrow: bool = False) -> pd.DataFrame | pa.Table:
        """Embeddings; see :meth:`workbench.query.Reader.embeddings`."""
        return self._out(self._table("/api/embeddings", span_id=span_ids, trace_id=trace_ids, limit=limit,
                                     **_selection(filter, start, end, project)), arrow)

    def annotations(self, name: str | None = None, *, span_ids: Sequence[str] | None = None,
                    trace_ids: Sequence[str] | None = None, limit: int | None = None, offset: int = 0,
                    arrow: bool = False) -> pd.DataFrame | pa.Table:
        """Annotations; see :meth:`workbench.query.Reader.annotations`."""
        return self._out(self._table("/api/annotations", name=name, span_id=span_ids, trace_id=trace_ids,
                                     limit=limit, offset=offset or None), arrow)

    def add_annotations(self, records: Sequence[dict[str, Any]] | dict[str, Any]) -> int:
        """Add annotations (feedback, evaluations) through the server."""
        return int(self._json("/api/annotations", body=records)["added"])

    def projects(self) -> list[str]:
        """Project names."""
        return self._json("/api/projects")

    def stats(self) -> dict[str, Any]:
        """Row counts and time range."""
        return self._json("/api/stats")

    def export_parquet(self, out_dir: str) -> dict[str, int]:
        """Download every table as Parquet into ``out_dir/<table>/`` (readable by ``workbench import``)."""
        import pathlib

        folder = pathlib.Path(out_dir).expanduser()
        counts = {}
        for table in self._json("/api/tables")["tables"]:
            _, payload = self._request(f"/api/tables/{table}", [("format", "parquet")])
            counts[table] = pq.read_metadata(pa.BufferReader(payload)).num_rows
            if not counts[table]:
                continue
            target = folder / table
            target.mkdir(parents=True, exist_ok=True)
            (target / f"{table}.parquet").write_bytes(payload)
        return counts
