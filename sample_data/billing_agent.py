"""The ``lumen-billing`` service: a billing agent instrumented with the OTel GenAI conventions.

A second team's service, traced with ``gen_ai.*`` keys instead of OpenInference::

    invoke_agent billing_assistant     (gen_ai.operation.name = invoke_agent)
      chat gpt-4.1-mini                (asks for a tool)
      execute_tool <name>
      chat gpt-4.1-mini                (answers)

Messages are the JSON attributes of semconv 1.36+ (``gen_ai.input.messages`` ...), the time
to first chunk an attribute in seconds, and the shared system prompt is served from the
provider's prompt cache when the last call was recent.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from opentelemetry import trace
from opentelemetry.trace import SpanKind as OtelKind

from . import texts, tools
from .answers import Knowledge, tokens
from .models import timing
from .otelspans import Clock, error_event, finish, start
from .scenario import Request
from .support_app import Emitted

__all__ = ["BillingAgent"]

MODEL = "gpt-4.1-mini"
RESPONSE_MODEL = "gpt-4.1-mini-2025-04-14"
AGENT_TOOLS = ("lookup_invoice", "get_subscription", "search_help_center", "create_refund_request")
_POLICY_CHUNKS = (
    "kb-invoices-005",
    "kb-invoices-006",
    "kb-invoices-019",
    "kb-billing-009",
    "kb-billing-011",
    "kb-invoices-009",
    "kb-invoices-011",
)
# Which tools answer each of texts.BILLING_REQUESTS, in order, and what the answer adds.
_TEMPLATE_TOOLS = {
    0: (
        ["lookup_invoice"],
        "The lines above show what makes up the total; overage is billed the month after it happens.",
    ),
    1: (["lookup_invoice"], "Card payments are charged on the invoice's issue date."),
    2: (
        ["lookup_invoice", "create_refund_request"],
        "Approved card refunds appear on your statement within 5 to 10 business days.",
    ),
    3: (["get_subscription"], "You can change plan or billing period under Billing > Plan."),
    4: (
        ["lookup_invoice"],
        "The PDF is under Billing > Invoices, and it was emailed to your billing contacts when issued.",
    ),
    5: (
        ["lookup_invoice"],
        "Bank transfers usually show as received within three business days of arrival; "
        "quote the invoice number as the reference.",
    ),
    6: (
        ["get_subscription"],
        "Extra seats are added when you invite members beyond the plan's included seats "
        "and removed at the next period.",
    ),
    7: (
        ["lookup_invoice"],
        "Overage is the number of rows above your plan's included volume, billed per million at your plan's rate.",
    ),
}


def _parts_text(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "content": text}]


class BillingAgent:
    """Renders requests of the billing service as OTel GenAI traces."""

    def __init__(self, tracer: trace.Tracer, knowledge: Knowledge, rng: np.random.Generator) -> None:
        self.tracer = tracer
        self.kb = knowledge
        self.rng = rng
        policies = "\n\n".join(knowledge.chunks[knowledge.index[c]].text for c in _POLICY_CHUNKS)
        self.system = f"{texts.BILLING_SYSTEM}\n\nBilling policies:\n{policies}"
        self.definitions = [{"type": "function", "name": name, **tools.SPECS.get(name, {})} for name in AGENT_TOOLS]
        self.prefix_tokens = tokens(self.system) + tokens(json.dumps(self.definitions))
        self.last_call_ns = 0

    def handle(self, request: Request, query: np.ndarray) -> Emitted:
        """Emit the trace of one request; return what feedback needs."""
        rng = self.rng
        clock = Clock(request.time_ns)
        common = {
            "gen_ai.conversation.id": request.session_id,
            "enduser.id": request.user_id,
            "feature": "billing_assistant",
            "metadata": json.dumps(
                {
                    "feature": "billing_assistant",
                    "workspace_id": request.workspace.id,
                    "plan": request.workspace.plan,
                    "region": request.workspace.region,
                }
            ),
        }
        root = start(
            self.tracer,
            "invoke_agent billing_assistant",
            clock.t,
            None,
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "billing_assistant",
                "gen_ai.agent.id": "asst_billing_v3",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": MODEL,
                **common,
            },
            kind=OtelKind.SERVER,
        )
        messages: list[dict[str, Any]] = [{"role": "user", "parts": _parts_text(request.asked)}]
        root.set_attribute("gen_ai.input.messages", json.dumps(messages))
        template = request.extra.get("template")
        grounded, error = True, None
        if template is not None:
            names, closing = _TEMPLATE_TOOLS[int(template)]
        else:
            names, closing = ["search_help_center"], ""
        leads: list[str] = []
        retrieved: list[str] = []
        for name in names:
            call_id = f"call_{rng.integers(0, 16**12):012x}"
            if name == "search_help_center":
                hits = self.kb.retrieve(query, 3)
                retrieved = [self.kb.chunks[i].id for i, _ in hits]
                arguments = {"query": request.asked}
                result_json = json.dumps(
                    {
                        "results": [
                            {
                                "id": self.kb.chunks[i].id,
                                "title": self.kb.chunks[i].title,
                                "text": self.kb.chunks[i].text,
                                "score": round(s, 4),
                            }
                            for i, s in hits
                        ]
                    }
                )
                latency, tool_error = 60 * float(np.exp(0.3 * rng.standard_normal())), None
                answer = self.kb.answer(rng, query, request.question.chunk_ids, hits, "draft")
                grounded = answer.grounded
                title = self.kb.chunks[self.kb.index[answer.cited[0]]].title
                leads.append(answer.text.replace(f" [{answer.cited[0]}]", "") + f' (Help center: "{title}")')
            else:
                result = tools.call(rng, name, request)
                arguments, result_json, latency, tool_error = (
                    result.arguments,
                    result.result_json,
                    result.latency_ms,
                    result.error,
                )
                if result.error:
                    leads.append(
                        f"I couldn't find invoice {arguments.get('number')} in this workspace; "
                        "could you check the number?"
                    )
                    grounded = False
                else:
                    leads.append(result.lead)
            self._chat(
                root,
                clock,
                messages,
                None,
                [{"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}],
                common,
            )
            tool = start(
                self.tracer,
                f"execute_tool {name}",
                clock.advance(rng.uniform(1, 3)),
                root,
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": name,
                    "gen_ai.tool.type": "function",
                    "gen_ai.tool.call.id": call_id,
                    "gen_ai.tool.description": tools.SPECS.get(name, {}).get("description", ""),
                    "gen_ai.tool.call.arguments": json.dumps(arguments),
                    **common,
                },
            )
            end = clock.advance(latency)
            if tool_error:
                error_event(
                    tool,
                    end,
                    "billing.InvoiceNotFound",
                    tool_error,
                    [
                        '  File "/srv/billing_agent/tools.py", line 57, in lookup_invoice\n'
                        "    raise InvoiceNotFound(number)\n"
                    ],
                )
            else:
                tool.set_attribute("gen_ai.tool.call.result", result_json)
            finish(tool, end, error=tool_error)
            messages.append(
                {
                    "role": "assistant",
                    "parts": [{"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}],
                }
            )
            messages.append(
                {
                    "role": "tool",
                    "parts": [{"type": "tool_call_response", "id": call_id, "response": json.loads(result_json)}],
                }
            )
            if tool_error:
                break
        text = " ".join(leads + ([closing] if closing and grounded else []))
        self._chat(root, clock, messages, text, None, common)
        root.set_attributes({"gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": _parts_text(text)}])})
        end = clock.advance(rng.uniform(1, 5))
        finish(root, end, error=error)
        ctx = root.get_span_context()
        return Emitted(
            format(ctx.trace_id, "032x"),
            format(ctx.span_id, "016x"),
            "",
            "billing_assistant",
            "",
            MODEL,
            request.time_ns,
            end,
            request.user_id,
            request.session_id,
            retrieved,
            request.question.chunk_ids,
            template is None and request.question.covered,
            grounded,
            False,
            {"tools": names},
        )

    def _chat(
        self,
        parent: trace.Span,
        clock: Clock,
        messages: list[dict[str, Any]],
        text: str | None,
        tool_calls: list[dict[str, Any]] | None,
        common: dict[str, Any],
    ) -> None:
        rng = self.rng
        at = clock.advance(rng.uniform(1, 4))
        if rng.random() < 0.015:  # the provider's rate limit, then the SDK's retry
            failed = self._span(parent, at, messages, common)
            end = clock.advance(rng.uniform(80, 200))
            message = (
                "Error code: 429 - {'error': {'message': "
                "'Rate limit reached for gpt-4.1-mini on tokens per min (TPM)', "
                "'type': 'tokens', 'code': 'rate_limit_exceeded'}}"
            )
            error_event(
                failed,
                end,
                "openai.RateLimitError",
                message,
                [
                    '  File "/srv/billing_agent/agent.py", line 88, in step\n'
                    "    resp = client.chat.completions.create(**req)\n"
                ],
            )
            failed.set_attribute("error.type", "rate_limit_exceeded")
            finish(failed, end, error=message)
            at = clock.advance(rng.uniform(800, 2500))
        span = self._span(parent, at, messages, common)
        prompt = self.prefix_tokens + tokens(json.dumps(messages)) + 8
        output = text if text is not None else ""
        completion = tokens(output) if text is not None else 14 + tokens(json.dumps(tool_calls))
        cache = self.prefix_tokens // 128 * 128 if at - self.last_call_ns < 10 * 60 * 10**9 else 0
        ttft, total = timing(rng, MODEL, prompt, completion)
        out_parts = _parts_text(text) if text is not None else tool_calls
        attrs: dict[str, Any] = {
            "gen_ai.response.model": RESPONSE_MODEL,
            "gen_ai.response.id": f"chatcmpl-{rng.integers(0, 2**62):016x}",
            "gen_ai.response.finish_reasons": ["stop" if text is not None else "tool_calls"],
            "gen_ai.usage.input_tokens": prompt,
            "gen_ai.usage.output_tokens": completion,
            "gen_ai.output.messages": json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": out_parts,
                        "finish_reason": "stop" if text is not None else "tool_call",
                    }
                ]
            ),
            "gen_ai.response.time_to_first_chunk": round(ttft / 1000, 4),
        }
        if cache:
            attrs["gen_ai.usage.cache_read.input_tokens"] = cache
        span.set_attributes(attrs)
        finish(span, clock.advance(total))
        self.last_call_ns = at

    def _span(self, parent: trace.Span, at: int, messages: list[dict[str, Any]], common: dict[str, Any]) -> trace.Span:
        return start(
            self.tracer,
            f"chat {MODEL}",
            at,
            parent,
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": MODEL,
                "gen_ai.request.temperature": 0.1,
                "gen_ai.request.max_tokens": 600,
                "server.address": "api.openai.com",
                "server.port": 443,
                "gen_ai.system_instructions": json.dumps(_parts_text(self.system)),
                "gen_ai.input.messages": json.dumps(messages),
                "gen_ai.tool.definitions": json.dumps(self.definitions),
                **common,
            },
            kind=OtelKind.CLIENT,
        )
