"""The read API over HTTP: :class:`RemoteReader` asks a running ``workbench serve``.

Only one process can open a DuckDB file while another writes it, so a notebook reads a
served store through the server. Tables travel as Arrow IPC streams; the methods and their
arguments are those of :class:`workbench.query.Reader`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.errors import FilterError, NotFoundError, RemoteReaderError, ServerError, WorkbenchError
from workbench.tree import Trace

__all__ = ["RemoteReader"]


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


class RemoteReader:
    """Reads the store of a running ``workbench serve``.

    Args:
        url: The server's base URL, e.g. ``http://127.0.0.1:4318``.
        timeout: Seconds to wait for each answer.
    """

    def __init__(self, url: str, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"RemoteReader({self.url!r})"

    def close(self) -> None:
        """Nothing to release; present so both readers can be closed alike."""

    def __enter__(self) -> RemoteReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        # What analysis reaches for on a local reader: say how to get one, not AttributeError.
        if name in ("store", "_where", "db"):
            raise RemoteReaderError(
                f"This analysis runs SQL over the store, which the server at {self.url} does not do for "
                "its readers; copy a time range into memory and pass that: "
                "local = workbench.snapshot(wb, start=\"7d\")."
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def table(self, name: str) -> pa.Table:
        """Every row of one stored table (``docs/schema.md``), as Arrow."""
        return self._table(f"/api/tables/{name}")

    def _request(self, path: str, params: list[tuple[str, str]] | None = None, body: Any = None) -> tuple[str, bytes]:
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path + query, data=data, method="POST" if data else "GET")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", exc.reason)
            except ValueError:
                message = exc.reason
            if exc.code == 404:
                raise NotFoundError(message) from None
            if exc.code == 400:
                raise FilterError(message) from None
            raise WorkbenchError(f"The server at {self.url} answered {exc.code}: {message}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerError(
                f"Cannot reach a workbench server at {self.url} ({reason}); start one with "
                "`workbench serve`, or open the database file directly."
            ) from None

    def _table(self, path: str, **kwargs: Any) -> pa.Table:
        _, payload = self._request(path, _params(**kwargs))
        return pa.ipc.open_stream(payload).read_all()

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
            "/api/spans", filter=filter, start=start, end=end, project=project, trace_id=trace_ids,
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
            "/api/traces", filter=filter, start=start, end=end, project=project, order_by=order_by,
            descending="true" if descending else "false", limit=limit, offset=offset or None,
        )
        frame = self._out(table, arrow)
        if not arrow:  # token totals are nullable integers, as a local reader's are
            for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
                if name in frame:
                    frame[name] = frame[name].astype("Int64")
        return frame

    def trace(self, trace_id: str) -> Trace:
        """One trace as a tree."""
        table = self._table(f"/api/traces/{trace_id.lower()}")
        return Trace(trace_id.lower(), table.to_pylist())

    def span(self, span_id: str) -> dict[str, Any]:
        """One span with its documents and embeddings."""
        _, payload = self._request(f"/api/spans/{span_id.lower()}")
        return json.loads(payload)

    def documents(self, filter: str | None = None, *, span_ids: Sequence[str] | None = None,
                  trace_ids: Sequence[str] | None = None, start: Any = None, end: Any = None,
                  project: str | Sequence[str] | None = None, limit: int | None = None,
                  arrow: bool = False) -> pd.DataFrame | pa.Table:
        """Retrieved documents; see :meth:`workbench.query.Reader.documents`."""
        return self._out(self._table("/api/documents", filter=filter, span_id=span_ids, trace_id=trace_ids,
                                     start=start, end=end, project=project, limit=limit), arrow)

    def embeddings(self, filter: str | None = None, *, span_ids: Sequence[str] | None = None,
                   trace_ids: Sequence[str] | None = None, start: Any = None, end: Any = None,
                   project: str | Sequence[str] | None = None, limit: int | None = None,
                   arrow: bool = False) -> pd.DataFrame | pa.Table:
        """Embeddings; see :meth:`workbench.query.Reader.embeddings`."""
        return self._out(self._table("/api/embeddings", filter=filter, span_id=span_ids, trace_id=trace_ids,
                                     start=start, end=end, project=project, limit=limit), arrow)

    def annotations(self, name: str | None = None, *, span_ids: Sequence[str] | None = None,
                    trace_ids: Sequence[str] | None = None, arrow: bool = False) -> pd.DataFrame | pa.Table:
        """Annotations; see :meth:`workbench.query.Reader.annotations`."""
        return self._out(self._table("/api/annotations", name=name, span_id=span_ids, trace_id=trace_ids), arrow)

    def add_annotations(self, records: Sequence[dict[str, Any]] | dict[str, Any]) -> int:
        """Add annotations (feedback, evaluations) through the server."""
        _, payload = self._request("/api/annotations", body=records)
        return int(json.loads(payload)["added"])

    def projects(self) -> list[str]:
        """Project names."""
        return json.loads(self._request("/api/projects")[1])

    def stats(self) -> dict[str, Any]:
        """Row counts and time range."""
        return json.loads(self._request("/api/stats")[1])

    def export_parquet(self, out_dir: str) -> dict[str, int]:
        """Download every table as Parquet into ``out_dir/<table>/`` (readable by ``workbench import``)."""
        import pathlib

        folder = pathlib.Path(out_dir).expanduser()
        counts = {}
        _, listing = self._request("/api/tables", [])
        for table in json.loads(listing)["tables"]:
            _, payload = self._request(f"/api/tables/{table}", [("format", "parquet")])
            counts[table] = pq.read_metadata(pa.BufferReader(payload)).num_rows
            if not counts[table]:
                continue
            target = folder / table
            target.mkdir(parents=True, exist_ok=True)
            (target / f"{table}.parquet").write_bytes(payload)
        return counts
