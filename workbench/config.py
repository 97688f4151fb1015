"""Every ``WORKBENCH_*`` setting, in one place.

An explicit argument beats the environment variable, which beats the default. Nothing else
in workbench reads ``os.environ``. Each setting documents itself; ``workbench settings``
prints them all, and the README table is written from :data:`SETTINGS`.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError

__all__ = ["AWS_VARIABLES", "OPENAI_VARIABLES", "SETTINGS", "Setting", "as_url", "aws", "describe", "file_section",
           "get", "github_actions", "openai_endpoint"]


def _path(value: str) -> Path:
    return Path(value).expanduser()


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive whole number")
    return number


def _markdown_budget(value: str) -> int:
    number = int(value)
    if number < 500:
        raise ValueError("must be a whole number of characters from 500 (a trace's heading needs that)")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be 0 or a positive whole number")
    return number


def _port(value: str) -> int:
    text = value.strip()
    number = int(text) if text.isascii() and text.isdigit() else -1
    if not 0 <= number <= 65535:
        raise ValueError("must be a port number from 0 to 65535 (0 picks a free one)")
    return number


def as_url(value: str, *, example: str = "http://127.0.0.1:4318", bare_ok: bool = True) -> str:
    """A server's base URL from what a user typed: ``http://`` is assumed when no scheme is given.

    The one reading of a server address, for ``--url``, ``workbench.open(url)``,
    ``register(endpoint=...)`` and the base URL of a model endpoint alike.

    Args:
        value: What the user typed.
        example: A good address of the kind asked for, for the message.
        bare_ok: Whether the message may offer the address without its scheme.

    Raises:
        ConfigError: The text names another scheme, no host, or a port outside 0-65535.
    """
    text = value.strip() if isinstance(value, str) else ""
    if "://" not in text:
        text = "http://" + text
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme.lower() not in ("http", "https") or not parsed.hostname:
        raise ConfigError(
            f"{value!r} is not a server URL; give one like {example}"
            + (f" (or {example.split('://', 1)[1]})." if bare_ok else ".")
        )
    try:
        parsed.port  # noqa: B018 - raises on a port outside 0-65535
    except ValueError:
        raise ConfigError(f"{value!r} has a port outside 0-65535; give one like {example}.") from None
    return urllib.parse.urlunsplit(parsed._replace(scheme=parsed.scheme.lower())).rstrip("/")


def _http_url(value: str) -> str:
    text = value.strip()
    parsed = urllib.parse.urlsplit(text)
    try:
        parsed.port  # noqa: B018 - raises on a port outside 0-65535
    except ValueError:
        parsed = urllib.parse.urlsplit("")
    if parsed.scheme.lower() not in ("http", "https") or not parsed.hostname:
        raise ValueError("must be an http(s) URL with a host, and a port from 0 to 65535 if one is given, "
                         "like https://api.openai.com/v1")
    return text


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be one of true/false, yes/no, on/off, 1/0")


def _zone(value: str) -> str:
    name = value.strip()
    if name.lower() in ("local", "utc"):
        return name.lower() if name.lower() == "local" else "UTC"
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be local, UTC or a zone name such as Europe/Paris") from None
    return name


def _names(value: str) -> tuple[str, ...]:
    return tuple(name for name in value.replace(",", " ").split() if name)


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError("must be a positive number of seconds")
    return number


def _fraction(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError("must be a number from 0 to 1")
    return number


_NUMBERS = (_positive_int, _non_negative_int, _port, _fraction)


@dataclass(frozen=True)
class Setting:
    """One setting: its environment variable, default, parser and meaning."""

    name: str
    default: Any
    parse: Callable[[str], Any]
    doc: str

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return "WORKBENCH_" + self.name.upper()


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting(
            "db",
            "~/.workbench/workbench.duckdb",
            _path,
            "The DuckDB file spans are stored in. Default: ~/.workbench/workbench.duckdb.",
        ),
        Setting("host", "127.0.0.1", str, "The address `workbench serve` listens on. Default: 127.0.0.1."),
        Setting(
            "port",
            4318,
            _port,
            "The port `workbench serve` listens on for OTLP/HTTP, the HTTP API and the app. "
            "Default: 4318, the OTLP/HTTP default, so an exporter with no configuration sends here.",
        ),
        Setting(
            "project",
            "default",
            str,
            "The project a span belongs to when its resource names none "
            "(openinference.project.name, then service.name). Default: default.",
        ),
        Setting(
            "queue_spans",
            200_000,
            _positive_int,
            "How many spans may wait to be written before the OTLP receiver answers 503 with "
            "Retry-After (and the in-process collector drops, with a warning). Default: 200000.",
        ),
        Setting(
            "max_request_mb",
            64,
            _positive_int,
            "The largest OTLP request body accepted, in MiB (after decompression). Default: 64.",
        ),
        Setting(
            "batch_spans",
            20_000,
            _positive_int,
            "The most spans the writer commits in one transaction. Default: 20000.",
        ),
        Setting(
            "config",
            "~/.workbench/config.toml",
            _path,
            "A TOML file with [redaction], [sampling] and [retention] tables for what the other "
            "settings cannot say (detectors, hash salt, latency and cost thresholds, how long spans "
            "are kept ...). Default: "
            "~/.workbench/config.toml; a missing file means none.",
        ),
        Setting(
            "decode_workers",
            min(2, os.cpu_count() or 1),
            _non_negative_int,
            "Processes `workbench serve` uses to decode OTLP requests; 0 decodes on a thread of "
            "the server process. Default: the number of CPUs, at most 2.",
        ),
        Setting(
            "redact",
            False,
            _bool,
            "Redact personal data (emails, phone and card numbers, keys ...) before storing. "
            "Default: false.",
        ),
        Setting(
            "capture_text",
            True,
            _bool,
            "Store prompt and response text. When false, only tokens, timings and costs are kept. "
            "Default: true.",
        ),
        Setting(
            "prices",
            "~/.workbench/prices.json",
            _path,
            "The user's price file: model prices (USD per million tokens) that beat the shipped "
            "ones; `workbench prices` edits it. Cost is computed when queried, so a change "
            "re-costs history. Default: ~/.workbench/prices.json.",
        ),
        Setting(
            "monitors",
            "~/.workbench/monitors.toml",
            _path,
            "The monitors file: which rules `workbench check` and the Monitors page run, their "
            "parameters, and the webhook to notify (TOML, or JSON with a .json name). Without it "
            "the default rules run. Default: ~/.workbench/monitors.toml.",
        ),
        Setting(
            "timezone",
            "local",
            _zone,
            "The time zone the app shows times in, and reads times typed without an offset in: "
            "local (this machine's), UTC, or a zone name such as Europe/Paris. Per-day and "
            "per-hour charts count in UTC days and hours, and say so. Default: local.",
        ),
        Setting(
            "sample_rate",
            1.0,
            _fraction,
            "The fraction of healthy traces kept by outcome-based sampling; traces with errors "
            "are always kept. Default: 1 (keep everything).",
        ),
        Setting(
            "token",
            None,
            str,
            "The access token of `workbench serve` (it then requires it of every request), and the "
            "one workbench clients (workbench.open(url), register(endpoint=...), --url) send as "
            "'Authorization: Bearer <token>'. A server listening beyond loopback requires one and "
            "makes one up when none is set. Default: none.",
        ),
        Setting(
            "allowed_hosts",
            (),
            _names,
            "Host names `workbench serve` answers to besides loopback ones (localhost, 127.0.0.1, "
            "[::1]), comma-separated, e.g. myhost.lan; * answers any (it gives up the defence against "
            "DNS rebinding). Default: none (on 0.0.0.0, this machine's own names are added).",
        ),
        Setting(
            "allowed_origins",
            (),
            _names,
            "Web page origins whose browser OTel exporters may post spans to /v1/traces, "
            "comma-separated, e.g. http://localhost:3000 (* for any page; none may read). "
            "Default: none (no other web page can post).",
        ),
        Setting(
            "min_free_mb",
            100,
            _non_negative_int,
            "Free space, in MiB, kept on the disk that holds the database. Below it, writes are "
            "refused before the disk fills (the OTLP receiver answers 503 with Retry-After), reads "
            "and /api/health go on working, writes resume by themselves once space is freed, and "
            "`workbench serve` does not start. 0 turns the check off. Default: 100.",
        ),
        Setting(
            "inflight_mb",
            64,
            _positive_int,
            "Request bytes the OTLP receiver holds at once, in MiB: bodies being read, decoded and "
            "written. A request beyond it is answered 503 with Retry-After before its body is read, "
            "which bounds the server's memory under overload (one request is always taken, "
            "however large). Default: 64.",
        ),
        Setting(
            "idle_timeout_s",
            60.0,
            _positive_float,
            "Seconds `workbench serve` keeps a connection that sends nothing, and waits for a "
            "request's headers, before closing it. Default: 60.",
        ),
        Setting(
            "proxy_openai_url",
            "https://api.openai.com/v1",
            _http_url,
            "Where the recording proxy at /proxy/openai/v1 forwards OpenAI-compatible calls: any "
            "base URL that speaks OpenAI's API (Azure, a local model server ...). "
            "Default: https://api.openai.com/v1.",
        ),
        Setting(
            "proxy_anthropic_url",
            "https://api.anthropic.com",
            _http_url,
            "Where the recording proxy at /proxy/anthropic forwards Anthropic calls. "
            "Default: https://api.anthropic.com.",
        ),
        Setting(
            "proxy_timeout_s",
            600.0,
            _positive_float,
            "Seconds the recording proxy waits for a provider's whole answer (a stream included) "
            "before answering 504 (or cutting a stream short) and recording a timeout. Default: 600.",
        ),
        Setting(
            "metrics_label_values",
            50,
            _positive_int,
            "The most distinct values each label of /metrics takes (model, provider, project, span "
            "kind, error type); later ones are counted under 'other'. Default: 50.",
        ),
        Setting(
            "body_timeout_s",
            120.0,
            _positive_float,
            "Seconds `workbench serve` waits for a request's whole body before closing the "
            "connection. Default: 120.",
        ),
        Setting(
            "markdown_chars",
            24_000,
            _markdown_budget,
            "The size budget, in characters, of a trace as Markdown for an LLM when none is given: the Trace "
            "page's Copy for an LLM button, `workbench trace --md`, the MCP `get_trace` tool and "
            "`Trace.to_markdown()`. At least 500. Default: 24000 (about 6,000 tokens).",
        ),
        Setting(
            "sql_max_rows",
            10_000,
            _positive_int,
            "Rows one SQL query sent to a server (`POST /api/sql`, `wb.sql` over a URL) or by an "
            "agent (the MCP `sql` tool) returns at most; the answer says when it was cut. Default: 10000.",
        ),
        Setting(
            "sql_max_mb",
            32,
            _positive_int,
            "MiB (Arrow) one such SQL answer returns at most, cut on a row boundary. Default: 32.",
        ),
        Setting(
            "sql_timeout_s",
            30.0,
            _positive_float,
            "Seconds one such SQL query may run before it is interrupted. Default: 30.",
        ),
        Setting(
            "mcp_write",
            False,
            _bool,
            "Let MCP clients annotate spans and traces (the `annotate` tool) on `workbench serve` and "
            "`workbench mcp`; off by default, so agents only read. Default: false.",
        ),
        Setting(
            "lake",
            "",
            str,
            "A Parquet lake `workbench serve` publishes what it stores to: a folder or "
            "s3://bucket/prefix (see docs/scale-out.md). Default: none.",
        ),
        Setting(
            "lake_endpoint",
            "",
            str,
            "The address of an S3-compatible object store for an s3:// lake, e.g. "
            "http://127.0.0.1:9000. Default: $AWS_ENDPOINT_URL, else AWS itself.",
        ),
        Setting(
            "lake_interval_s",
            2.0,
            _positive_float,
            "Seconds between two publications of new spans to the lake. Default: 2.",
        ),
        Setting(
            "lake_keep_hours",
            0,
            _non_negative_int,
            "Once published to the lake, spans that started more than this many hours ago are "
            "removed from the local file (0: keep everything). Default: 0.",
        ),
    ]
}


#: The standard AWS variables an s3:// lake is reached with (read here, and only here).
AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


def aws(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The standard AWS variables that are set (credentials, region, endpoint), by name."""
    env = os.environ if environ is None else environ
    return {name: env[name] for name in AWS_VARIABLES if env.get(name)}


#: The variables an OpenAI-compatible endpoint is reached with, as OpenAI's own clients read them.
OPENAI_VARIABLES = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL")


def openai_endpoint(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The OpenAI-compatible endpoint the judge and the playground call by default.

    ``base_url`` from ``OPENAI_BASE_URL`` (default https://api.openai.com/v1), ``api_key`` from
    ``OPENAI_API_KEY`` and ``model`` from ``OPENAI_MODEL`` (None when unset); read here, not
    as WORKBENCH_* settings, because OpenAI's clients and local model servers use these names.
    """
    env = os.environ if environ is None else environ
    return {
        "base_url": (env.get("OPENAI_BASE_URL") or "").strip() or "https://api.openai.com/v1",
        "api_key": (env.get("OPENAI_API_KEY") or "").strip() or None,
        "model": (env.get("OPENAI_MODEL") or "").strip() or None,
    }


def get(name: str, value: Any = None, environ: Mapping[str, str] | None = None) -> Any:
    """Return a setting: ``value`` if given, else its environment variable, else its default.

    Raises:
        ConfigError: The environment variable holds a value the setting cannot take.
    """
    setting = SETTINGS[name]
    if value is not None:
        if isinstance(value, str) and setting.parse is not str:
            try:
                return setting.parse(value)
            except ValueError as exc:
                raise ConfigError(f"{name}={value!r} is not valid: it {_reason(exc)}.") from None
        if setting.parse in _NUMBERS and isinstance(value, (int, float)) and not isinstance(value, bool):
            try:  # a number passed in is held to the same range as one read from the environment
                setting.parse(str(value))
            except ValueError as exc:
                raise ConfigError(f"{name}={value!r} is not valid: it {_reason(exc)}.") from None
        return value
    env = os.environ if environ is None else environ
    raw = env.get(setting.env)
    if raw is None or raw == "":
        default = setting.default
        return setting.parse(default) if isinstance(default, str) and setting.parse is _path else default
    try:
        return setting.parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{setting.env}={raw!r} is not valid: it {_reason(exc)}.") from None


def github_actions(environ: Mapping[str, str] | None = None) -> tuple[bool, Path | None]:
    """Whether this runs in a GitHub Actions job, and its job summary file.

    GitHub sets ``GITHUB_ACTIONS=true`` and ``GITHUB_STEP_SUMMARY`` (a file to append Markdown
    to) in every step; they are read here, not as WORKBENCH_* settings, because the runner sets them.
    """
    env = os.environ if environ is None else environ
    inside = env.get("GITHUB_ACTIONS", "").strip().lower() == "true"
    summary = env.get("GITHUB_STEP_SUMMARY", "").strip()
    return inside, (Path(summary) if inside and summary else None)


def _reason(exc: ValueError) -> str:
    """The rule a parser states, or a plain one for int()'s and float()'s own complaint."""
    text = str(exc)
    return text if text.startswith("must") else "must be a number"


def describe() -> list[dict[str, str]]:
    """Return every setting as rows of ``env``, ``default`` and ``doc``."""
    return [{"env": s.env, "default": str(s.default), "doc": s.doc} for s in SETTINGS.values()]


def file_section(
    section: str, path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One table of the config file (``[redaction]``, ``[sampling]``), or ``{}`` without a file.

    Raises:
        ConfigError: The file is not valid TOML, or the table is not a table.
    """
    file = get("config", path, environ)
    if not Path(file).is_file():
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(Path(file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"The config file {file} cannot be read ({exc}); fix it or point WORKBENCH_CONFIG elsewhere."
        ) from None
    table = data.get(section, {})
    if not isinstance(table, dict):
        raise ConfigError(f"In {file}, [{section}] must be a table of settings, not {type(table).__name__}.")
    return table
