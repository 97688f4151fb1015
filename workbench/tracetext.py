"""A trace as Markdown, for an LLM or a bug report: :func:`trace_markdown` (``Trace.to_markdown``).

The whole tree, one line per span (kind, duration, self time, status, model, tokens, cost;
a model call whose cost is not known, for want of a price or of tokens, says so),
with each span's input and output under it, cut to a stated length. The text stays within a
budget of characters: texts are shortened first, then left out, then the last spans are
counted instead of shown, and the text says which of these it did.

Pure Python over :class:`workbench.tree.Trace` (duck-typed); dollars are written by
:func:`workbench.pricing.money.usd`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

__all__ = ["DEFAULT_MAX_CHARS", "DEFAULT_TEXT_CHARS", "trace_markdown"]

#: The size budget of a whole trace's text, in characters (about 6,000 tokens).
DEFAULT_MAX_CHARS = 24_000
#: How much of each input, output or message is kept, in characters.
DEFAULT_TEXT_CHARS = 600


def _cut(text: Any, limit: int) -> str:
    if text is None:
        return ""
    value = text if isinstance(text, str) else json.dumps(text, default=str, ensure_ascii=False)
    value = " ".join(value.split())  # one line: the tree stays readable
    if len(value) <= limit:
        return value
    return value[:limit].rstrip() + f"… [{len(value) - limit} more characters]"


def _ms(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def _money(value: Any) -> str | None:
    if value is None or value != value:  # None or NaN
        return None
    from workbench.pricing.money import usd

    return usd(value)


def _cost_unknown(span: Any) -> bool:
    """Whether a span is a model call whose cost was asked for and is not known (its model has
    no price, or it reported no tokens): shown as unknown, never left to read as $0."""
    if "cost" not in span or _money(span.get("cost")) or not span.get("model_name"):
        return False
    from workbench.pricing.calls import is_call

    return is_call(span.get("span_kind"))


def _int(value: Any) -> int | None:
    if value is None or value != value:
        return None
    return int(value)


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    return str(value)


def _error(span: Any) -> str | None:
    if span.get("status_code") != "ERROR":
        return None
    message = span.get("status_message") or ""
    for event in span.get("events") or []:
        if isinstance(event, dict) and event.get("name") == "exception" and not message:
            attributes = event.get("attributes") or {}
            if isinstance(attributes, str):
                try:
                    attributes = json.loads(attributes)
                except ValueError:
                    attributes = {}
            message = f"{attributes.get('exception.type', '')}: {attributes.get('exception.message', '')}".strip(": ")
    return message or "(no message)"


def _span_line(node: Any) -> str:
    span = node.span
    kind = span.get("span_kind") or "UNKNOWN"
    parts = [f"**{span.get('name')}** `{kind}` {_ms(node.duration_ms)}"]
    if node.children:
        parts[0] += f" (self {_ms(node.self_time_ms)})"
    if span.get("model_name"):
        parts.append(str(span["model_name"]))
    prompt, completion = _int(span.get("prompt_tokens")), _int(span.get("completion_tokens"))
    if prompt is not None or completion is not None:
        parts.append(f"{prompt or 0}→{completion or 0} tokens")
    cost = _money(span.get("cost"))
    if cost:
        parts.append(cost)
    elif _cost_unknown(span):
        parts.append("cost unknown")
    if span.get("tool_name") and kind == "TOOL":
        parts.append(f"tool {span['tool_name']}")
    error = _error(span)
    if error:
        parts.append(f"**ERROR**: {_cut(error, 300)}")
    parts.append(f"span `{span.get('span_id')}`")
    return " · ".join(parts)


def _one_line(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return " ".join(text.split())  # one line: the tree stays readable


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + f"… [{len(text) - limit} more characters]"


def _messages(messages: Any, prefix: str) -> list[tuple[str, str]]:
    if isinstance(messages, str):  # stored as JSON text
        try:
            messages = json.loads(messages)
        except ValueError:
            return []
    out = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        content, calls = message.get("content"), message.get("tool_calls")
        text = _one_line(content) if content else ""
        if calls:
            text = (text + " " if text else "") + "tool calls: " + _one_line(calls)
        out.append((f"{prefix} · {message.get('role') or '?'}: ", text))
    return out


def _details(span: Any) -> list[tuple[str, str]]:
    """A span's inputs and outputs as (label, whole text on one line)."""
    lines = _messages(span.get("input_messages"), "in")
    if not lines and span.get("input_value"):
        lines.append(("input: ", _one_line(span["input_value"])))
    outputs = _messages(span.get("output_messages"), "out")
    if not outputs and span.get("output_value"):
        outputs.append(("output: ", _one_line(span["output_value"])))
    return lines + outputs


def _header(trace: Any, nodes: list[Any]) -> list[str]:
    root = nodes[0].span if nodes else {}
    errors, prompt, completion = 0, 0, 0
    models: set[str] = set()
    costs = []
    unknown = 0
    for node in nodes:  # one pass: a trace may hold tens of thousands of spans
        span = node.span
        if span.get("status_code") == "ERROR":
            errors += 1
        if span.get("model_name"):
            models.add(str(span["model_name"]))
        if span.get("span_kind") == "LLM":
            prompt += _int(span.get("prompt_tokens")) or 0
            completion += _int(span.get("completion_tokens")) or 0
        cost = span.get("cost")
        if cost is not None and _money(cost):
            costs.append(cost)
        elif _cost_unknown(span):
            unknown += 1
    facts = [f"started {_when(root.get('start_time'))}" if root else "no spans"]
    if root.get("project"):
        facts.append(f"project {root['project']}")
    if models:
        facts.append("models " + ", ".join(sorted(models)))
    if prompt or completion:
        facts.append(f"{prompt}→{completion} LLM tokens")
    calls = f"{unknown} call{'s' if unknown != 1 else ''} of unknown cost"
    if costs:
        facts.append(f"cost {_money(sum(costs))}" + (f" + {calls}" if unknown else ""))
    elif unknown:
        facts.append(f"cost unknown ({calls})")
    title = (f"# Trace `{trace.trace_id}`: {root.get('name', '?')} ({_ms(trace.duration_ms)}, {len(nodes)} spans, "
             f"{errors} error{'s' if errors != 1 else ''})")
    return [title, "", "- " + " · ".join(facts)]


_CUT_NOTE = 30  # about the length of "… [12345 more characters]"


def _limit(rows: list[tuple[str, str, list[tuple[str, str]]]], fixed: int, budget: int, text_chars: int) -> int:
    """The longest text length, from ``text_chars`` halving down to none, at which every span fits."""
    limit = text_chars
    while limit > 0:
        size = fixed + sum(
            len(indent) + 5 + len(label) + (len(text) if len(text) <= limit else limit + _CUT_NOTE)
            for indent, _, details in rows for label, text in details
        )
        if size <= budget:
            return limit
        limit = limit // 2 if limit > 60 else 0
    return 0


def trace_markdown(trace: Any, max_chars: int | None = None, text_chars: int = DEFAULT_TEXT_CHARS) -> str:
    """The trace as Markdown within ``max_chars`` characters.

    Args:
        trace: A :class:`workbench.tree.Trace`.
        max_chars: The size budget of the whole text (default ``WORKBENCH_MARKDOWN_CHARS``,
            24,000).
        text_chars: How much of each input, output and message to keep at most.

    Returns:
        The text. When the whole trace does not fit, texts are shortened, then left out, then
        the last spans are counted in a closing line instead of shown; the text says so.
    """
    if max_chars is None:
        from workbench import config

        max_chars = int(config.get("markdown_chars"))
    if max_chars < 500:
        raise ValueError(f"max_chars={max_chars} is too small for a trace; give 500 or more.")
    nodes = list(trace)
    head = _header(trace, nodes)
    room = max_chars - 300  # the note on texts and the closing line
    fixed = sum(len(line) + 1 for line in head) + 20
    drawn: list[tuple[str, str, Any]] = []
    for node in nodes:
        indent = "  " * node.depth
        line = f"{indent}- {_span_line(node)}"
        drawn.append((indent, line, node))
        fixed += len(line) + 1
        if fixed > max_chars:  # the lines alone pass the budget: no text shows, the rest are counted
            break
    if fixed > room:
        rows: list[tuple[str, str, list[tuple[str, str]]]] = [(indent, line, []) for indent, line, _ in drawn]
        limit = 0
    else:
        rows = [(indent, line, _details(node.span)) for indent, line, node in drawn]
        limit = _limit(rows, fixed, room, max(0, int(text_chars)))
    if limit:
        head.append(f"- Inputs and outputs are cut to {limit} characters each; `→` reads prompt→completion tokens.")
    else:
        head.append("- Inputs and outputs are left out to fit the size budget; ask for one span in full.")
    lines = [*head, "", "## Spans", ""]
    size = sum(len(line) + 1 for line in lines)
    missing = 0
    for shown, (indent, line, details) in enumerate(rows):
        block = [line, *(f"{indent}  - {label}{_shorten(text, limit)}" for label, text in details)] if limit else [line]
        cost = sum(len(b) + 1 for b in block)
        if size + cost > max_chars - 200:  # room for the closing note
            missing = len(nodes) - shown
            break
        lines += block
        size += cost
    text = "\n".join(lines)
    if missing:
        text += (f"\n\n… {missing} more spans are not shown: the text reached its budget of {max_chars} characters "
                 "(raise max_chars, or ask for one span in full).")
    return text + "\n"
