"""Spans for the app's tests: a small support assistant's traces, made with a fixed seed.

Each turn of a conversation is one trace: a CHAIN root, an EMBEDDING of the question, a
RETRIEVER with ranked documents, sometimes a planning LLM call that asks for a TOOL, and a
final LLM answer with messages, tokens and time to first token. Some tools fail (an ERROR
span with an exception event and stack trace). A planted slow tail: about one answer in
twenty takes 8-12 s instead of about 1 s, and those traces are named in :attr:`Dataset.slow`.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field

from workbench.model import (
    Document,
    Embedding,
    Event,
    Message,
    Span,
    SpanKind,
    StatusCode,
    TokenUsage,
    ToolCall,
)

QUESTIONS = [
    "How do I get a refund for a double charge?",
    "Why was my card declined when upgrading to the Pro plan?",
    "Can I change the billing email on my account?",
    "What happens to my data if I cancel my subscription?",
    "How do I download last month's invoice as a PDF?",
    "Is there a discount for annual billing?",
    "My invoice shows VAT but we are a registered business, why?",
    "How can I add a second payment method?",
]
DOCS = [
    ("kb-refunds", "Refunds are issued to the original payment method within 5-10 business days. "
                   "Duplicate charges are refunded automatically once confirmed."),
    ("kb-declines", "Card declines usually come from the issuing bank. "
                    "Ask the customer to contact their bank or try 3-D Secure verification."),
    ("kb-billing-email", "The billing email can be changed under Settings > Billing > Contacts by an account owner."),
    ("kb-cancel", "After cancellation, data is retained for 30 days and then permanently deleted."),
    ("kb-invoices", "Invoices are available under Settings > Billing > Invoices and can be downloaded as PDF."),
    ("kb-annual", "Annual billing is discounted by 20% compared with monthly billing."),
    ("kb-vat", "Businesses with a valid VAT number can enter it under Billing > Tax to have VAT reverse-charged."),
    ("kb-payment-methods", "Up to three payment methods can be stored; the default one is charged first."),
]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet"]
PROJECTS = ["support-bot", "billing-agent"]
SYSTEM = "You are Acme Cloud's support assistant. Answer from the provided context only, briefly and politely."


@dataclass
class Dataset:
    """The spans made, with what the tests look for."""

    spans: list[Span] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)  # trace ids of the planted slow tail
    errors: list[str] = field(default_factory=list)  # trace ids with a failed tool
    sessions: dict[str, list[str]] = field(default_factory=dict)  # session id -> trace ids in order
    llm_trace: str = ""  # a trace whose answer has messages, for the detail test

    @property
    def trace_ids(self) -> list[str]:
        return [s.trace_id for s in self.spans if s.parent_span_id is None]


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def trace(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def span(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"


def _ns(t: dt.datetime) -> int:
    return int(t.timestamp() * 1_000_000) * 1000


def make_dataset(
    *,
    sessions: int = 24,
    seed: int = 4,
    end: dt.datetime | None = None,
    hours: float = 6.0,
) -> Dataset:
    """Conversations spread over the ``hours`` before ``end`` (default: now)."""
    rng = random.Random(seed)
    ids = _Ids(rng)
    end = end or dt.datetime.now(dt.timezone.utc)
    begin = end - dt.timedelta(hours=hours)
    data = Dataset()
    for s in range(sessions):
        session_id = f"sess-{s:03d}"
        user_id = f"user-{rng.randrange(12):02d}"
        project = PROJECTS[0] if s % 4 else PROJECTS[1]
        at = begin + dt.timedelta(seconds=rng.uniform(0, hours * 3600 * 0.9))
        turns = rng.randint(1, 4)
        data.sessions[session_id] = []
        for turn in range(turns):
            question = rng.choice(QUESTIONS)
            trace_id, spans, slow, failed = _turn(rng, ids, at, question, session_id, user_id, project, turn)
            data.spans.extend(spans)
            data.sessions[session_id].append(trace_id)
            if slow:
                data.slow.append(trace_id)
            if failed:
                data.errors.append(trace_id)
            at += dt.timedelta(seconds=rng.uniform(20, 90))
    # Make sure the planted tail and an error exist whatever the seed gave.
    assert data.slow and data.errors
    data.llm_trace = next(t for t in data.trace_ids if t not in data.errors and t not in data.slow)
    return data


def _span(ids: _Ids, trace_id: str, parent: str | None, name: str, kind: SpanKind, start: dt.datetime,
          ms: float, project: str, **fields) -> Span:
    attributes = {"openinference.span.kind": kind.value, **fields.pop("attributes", {})}
    return Span(
        trace_id=trace_id, span_id=fields.pop("span_id", None) or ids.span(), parent_span_id=parent, name=name,
        start_time_ns=_ns(start), end_time_ns=_ns(start) + int(ms * 1e6), span_kind=kind, project=project,
        attributes=attributes, resource={"service.name": project, "telemetry.sdk.language": "python"},
        scope_name="openinference.instrumentation.test", **fields,
    )


def _turn(rng: random.Random, ids: _Ids, at: dt.datetime, question: str, session_id: str, user_id: str,
          project: str, turn: int) -> tuple[str, list[Span], bool, bool]:
    trace_id = ids.trace()
    root_id = ids.span()
    spans: list[Span] = []
    t = at + dt.timedelta(milliseconds=5)
    vector = tuple(round(rng.uniform(-1, 1), 4) for _ in range(8))
    embed_ms = rng.uniform(30, 80)
    spans.append(_span(ids, trace_id, root_id, "embed_question", SpanKind.EMBEDDING, t, embed_ms, project,
                       model_name="text-embedding-3-small", provider="openai", input_value=question,
                       embeddings=(Embedding(0, question, vector, "text-embedding-3-small"),),
                       attributes={"embedding.model_name": "text-embedding-3-small"}))
    t += dt.timedelta(milliseconds=embed_ms + 2)
    ranked = rng.sample(DOCS, 4)
    docs = tuple(Document(i, d[0], d[1], round(0.92 - i * 0.11 - rng.uniform(0, 0.05), 3), {"source": "kb"})
                 for i, d in enumerate(ranked))
    retrieve_ms = rng.uniform(60, 220)
    spans.append(_span(ids, trace_id, root_id, "search_knowledge_base", SpanKind.RETRIEVER, t, retrieve_ms, project,
                       input_value=question, documents=docs,
                       output_value=json.dumps([d.id for d in docs])))
    t += dt.timedelta(milliseconds=retrieve_ms + 3)
    failed = False
    model = rng.choice(MODELS)
    context = "\n\n".join(d.content for d in docs[:2])
    messages: list[Message] = [
        Message("system", SYSTEM), Message("user", f"Context:\n{context}\n\nQuestion: {question}"),
    ]
    if rng.random() < 0.35:  # the agent looks something up first
        plan_ms = rng.uniform(300, 700)
        call = ToolCall(id=f"call_{ids.span()[:8]}", name="lookup_invoice",
                        arguments=json.dumps({"customer_id": user_id, "limit": 3}))
        spans.append(_span(ids, trace_id, root_id, "plan", SpanKind.LLM, t, plan_ms, project,
                           model_name=model, provider="openai" if "gpt" in model else "anthropic",
                           input_messages=tuple(messages),
                           output_messages=(Message("assistant", None, tool_calls=(call,)),),
                           tokens=TokenUsage(prompt=420, completion=24, total=444),
                           attributes={"llm.invocation_parameters": json.dumps({"temperature": 0,
                                                                                "tool_choice": "auto"})}))
        t += dt.timedelta(milliseconds=plan_ms + 2)
        tool_ms = rng.uniform(40, 400)
        failed = rng.random() < 0.3
        result = {"invoices": [{"id": "inv_2041", "amount": 49.0, "status": "paid"}]}
        events = ()
        if failed:
            events = (Event("exception", _ns(t) + int(tool_ms * 1e6), {
                "exception.type": "TimeoutError",
                "exception.message": "billing service did not answer within 2 s",
                "exception.stacktrace": (
                    "Traceback (most recent call last):\n"
                    '  File "support/tools.py", line 41, in lookup_invoice\n'
                    "    return billing.get(f\"/customers/{customer_id}/invoices\", timeout=2)\n"
                    '  File "support/billing.py", line 88, in get\n'
                    "    raise TimeoutError(\"billing service did not answer within 2 s\")\n"
                    "TimeoutError: billing service did not answer within 2 s"),
            }),)
        spans.append(_span(ids, trace_id, root_id, "lookup_invoice", SpanKind.TOOL, t, tool_ms, project,
                           tool_name="lookup_invoice", input_value=call.arguments, input_mime_type="application/json",
                           output_value=None if failed else json.dumps(result),
                           status_code=StatusCode.ERROR if failed else StatusCode.OK,
                           status_message="TimeoutError: billing service did not answer within 2 s" if failed else "",
                           events=events,
                           attributes={"tool.name": "lookup_invoice", "tool.parameters": call.arguments}))
        t += dt.timedelta(milliseconds=tool_ms + 2)
        messages.append(Message("assistant", None, tool_calls=(call,)))
        messages.append(Message("tool", "error: timeout" if failed else json.dumps(result), tool_call_id=call.id))
    slow = rng.random() < 0.06
    answer_ms = rng.uniform(8000, 12000) if slow else rng.uniform(600, 1500)
    ttft = rng.uniform(150, 400) if not slow else rng.uniform(2500, 4000)
    answer = f"{docs[0].content.split('.')[0]}. Is there anything else I can help with?"
    completion = rng.randint(40, 160)
    spans.append(_span(ids, trace_id, root_id, "answer", SpanKind.LLM, t, answer_ms, project,
                       model_name=model, provider="openai" if "gpt" in model else "anthropic",
                       input_messages=tuple(messages), output_messages=(Message("assistant", answer),),
                       tokens=TokenUsage(prompt=600 + 30 * turn, completion=completion,
                                         total=600 + 30 * turn + completion),
                       time_to_first_token_ms=ttft, session_id=session_id, user_id=user_id,
                       prompt_template_version="v3",
                       attributes={"llm.invocation_parameters": json.dumps({"temperature": 0.2, "max_tokens": 512}),
                                   "llm.model_name": model}))
    t += dt.timedelta(milliseconds=answer_ms + 4)
    total_ms = (t - at).total_seconds() * 1000
    root = _span(ids, trace_id, None, "support_chat", SpanKind.CHAIN, at, total_ms, project, span_id=root_id,
                 input_value=question, output_value=answer, session_id=session_id, user_id=user_id,
                 status_code=StatusCode.OK, attributes={"session.id": session_id, "user.id": user_id})
    return trace_id, [root, *spans], slow, failed
