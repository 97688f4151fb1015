"""The ``lumen-support`` service: a RAG support assistant instrumented with OpenInference.

One trace per request::

    CHAIN <feature>
      RETRIEVER retrieve
        EMBEDDING embed_query          (the query's vector)
      RERANKER rerank                  (support_chat, ticket_draft)
      LLM ChatCompletion | GenerateContent | Messages
      or, when the chat agent uses a tool:
      AGENT support_agent
        LLM (asks for the tool)  ->  TOOL <name>  ->  LLM (answers)

Session, user and the ``metadata`` JSON (with the feature) ride on every span, as
OpenInference's ``using_attributes`` context puts them there.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from opentelemetry import trace
from opentelemetry.trace import SpanKind as OtelKind

from . import texts, tools
from .answers import Answer, Knowledge, account_snapshot, draft_reply, tokens
from .embed import MODEL_NAME as EMBEDDING_MODEL
from .models import MODELS, timing
from .otelspans import Clock, documents, error_event, finish, messages, start
from .scenario import Request, Timeline
from .tools import SPECS as TOOL_SPECS

__all__ = ["Emitted", "SupportApp"]

RERANK_MODEL = "rerank-v3.5"

_NOT_FOUND = (
    "Error code: 404 - {'error': {'message': 'The model `%s` has been deprecated and is no longer "
    "available. Learn more: https://platform.openai.com/docs/deprecations', 'type': "
    "'invalid_request_error', 'param': None, 'code': 'model_not_found'}}"
)
_STACK_404 = [
    (
        '  File "/app/lumen_support/chat.py", line 142, in answer\n'
        "    response = client.chat.completions.create(**params)\n"
    ),
    (
        '  File "/usr/local/lib/python3.12/site-packages/openai/_base_client.py", line 1047, in request\n'
        "    raise self._make_status_error_from_response(err.response) from None\n"
    ),
]
_STACK_TIMEOUT = [
    (
        '  File "/app/lumen_support/tools/status.py", line 38, in check_service_status\n'
        "    resp = await http.get(STATUS_URL, params={'region': region}, timeout=10.0)\n"
    ),
    (
        '  File "/usr/local/lib/python3.12/site-packages/httpx/_transports/default.py", line 118, '
        "in map_httpcore_exceptions\n"
        "    raise mapped_exc(message) from exc\n"
    ),
]


@dataclass
class Emitted:
    """What the feedback step needs to know about one emitted trace."""

    trace_id: str
    root_span_id: str
    retriever_span_id: str
    feature: str
    version: str
    model: str
    start_ns: int
    end_ns: int
    user_id: str
    session_id: str
    retrieved: list[str]
    gold: tuple[str, ...]
    covered: bool
    grounded: bool
    error: bool
    extra: dict[str, Any] = field(default_factory=dict)


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def app_version(when: dt.datetime) -> str:
    """The support app's release at a time (a release went out with each change)."""
    if when >= Timeline.new_topic_from:
        return "2.16.0"
    if when >= Timeline.model_switch_at:
        return "2.15.2"
    if when >= Timeline.fallback_from:
        return "2.15.1"
    return "2.15.0" if when >= Timeline.prompt_v2_at else "2.14.3"


class SupportApp:
    """Renders requests of the support service as OpenInference traces."""

    def __init__(self, tracer: trace.Tracer, knowledge: Knowledge, rng: np.random.Generator) -> None:
        self.tracer = tracer
        self.kb = knowledge
        self.rng = rng
        self.last_call: dict[tuple[str, str], int] = {}  # (model, prompt version) -> ns, for the cache

    # The plan of one request ----------------------------------------------------------

    def _model(self, request: Request) -> tuple[str, str | None]:
        when = request.when
        if request.feature == "ticket_draft":
            return "claude-sonnet-4-5", None
        if request.feature == "help_center_search":
            if self.rng.random() < 0.3:
                return "gemini-2.0-flash", "gemini-flash-ab:treatment"
            return "gpt-4o-mini", "gemini-flash-ab:control"
        return (Timeline.old_chat_model if when < Timeline.model_switch_at else Timeline.new_chat_model), None

    def handle(self, request: Request, query: np.ndarray) -> Emitted:
        """Emit the trace of one request; return what feedback needs."""
        rng, when = self.rng, request.when
        feature = request.feature
        model, experiment = self._model(request)
        if feature == "ticket_draft":
            version = "v4" if when >= Timeline.ticket_v4_at else "v3"
            template = texts.TICKET_TEMPLATES[version]
        else:
            version = "v2" if when >= Timeline.prompt_v2_at else "v1"
            template = texts.SUPPORT_TEMPLATES[version]
        metadata = {
            "feature": feature,
            "app_version": app_version(when),
            "workspace_id": request.workspace.id,
            "plan": request.workspace.plan,
            "region": request.workspace.region,
        }
        if experiment:
            metadata["experiment"] = experiment
        common = {
            "session.id": request.session_id,
            "user.id": request.user_id,
            "metadata": json.dumps(metadata),
            "feature": feature,
        }

        clock = Clock(request.time_ns)
        question = request.asked
        root_input = question
        if feature == "ticket_draft":
            name = str(rng.choice(texts.CUSTOMER_NAMES))
            request.extra["customer"] = name
            line = str(rng.choice(texts.TICKET_CONTEXT_LINES))
            root_input = f"Hi,\n\n{question}\n\n{line}\n\nThanks,\n{name}"
        root = start(
            self.tracer,
            feature,
            clock.t,
            None,
            {
                "openinference.span.kind": "CHAIN",
                "input.value": root_input,
                "input.mime_type": "text/plain",
                "tag.tags": ["production", feature],
                **common,
            },
            kind=OtelKind.SERVER,
        )

        # Retrieval: embed the query, take the top k by cosine.
        k = 20 if version == "v4" else 5
        clock.advance(rng.uniform(1, 6))
        retriever = start(
            self.tracer,
            "retrieve",
            clock.t,
            root,
            {
                "openinference.span.kind": "RETRIEVER",
                "input.value": question,
                "input.mime_type": "text/plain",
                **common,
            },
        )
        clock.advance(rng.uniform(0.3, 1.5))
        embedding = start(
            self.tracer,
            "embed_query",
            clock.t,
            retriever,
            {
                "openinference.span.kind": "EMBEDDING",
                "embedding.model_name": EMBEDDING_MODEL,
                "embedding.embeddings.0.embedding.text": question,
                "embedding.embeddings.0.embedding.vector": [float(x) for x in query],
                **common,
            },
        )
        finish(embedding, clock.advance(14 * float(np.exp(0.35 * rng.standard_normal()))))
        hits = self.kb.retrieve(query, k)
        docs = [
            {
                "id": self.kb.chunks[i].id,
                "content": self.kb.chunks[i].text,
                "score": s,
                "metadata": {"topic": self.kb.chunks[i].topic, "title": self.kb.chunks[i].title},
            }
            for i, s in hits
        ]
        retriever.set_attributes(documents("retrieval.documents", docs))
        finish(retriever, clock.advance(rng.uniform(12, 45)))
        retriever_id = _hex(retriever.get_span_context().span_id, 16)

        context_hits = hits
        # Ticket drafts v4 dropped the reranker to "give the model everything": 20 excerpts.
        if feature == "support_chat" or version == "v3":
            reranked = self.kb.rerank(query, hits)
            keep = 3 if feature == "support_chat" else 4
            context_hits = reranked[:keep]
            clock.advance(rng.uniform(0.5, 2))
            reranker = start(
                self.tracer,
                "rerank",
                clock.t,
                root,
                {
                    "openinference.span.kind": "RERANKER",
                    "reranker.query": question,
                    "reranker.model_name": RERANK_MODEL,
                    "reranker.top_k": keep,
                    **documents("reranker.input_documents", docs),
                    **documents(
                        "reranker.output_documents",
                        [
                            {"id": self.kb.chunks[i].id, "content": self.kb.chunks[i].text, "score": s}
                            for i, s in context_hits
                        ],
                    ),
                    **common,
                },
                kind=OtelKind.CLIENT,
            )
            finish(reranker, clock.advance(150 * float(np.exp(0.3 * rng.standard_normal()))))

        # The prompt.
        context = self.kb.context(context_hits)
        if feature == "ticket_draft":
            values = {"context": context, "ticket": root_input}
            if version == "v4":
                values["thread"] = self._thread(request)
                values["account"] = account_snapshot(
                    rng, request.workspace.id, request.workspace.plan, request.workspace.region
                )
            system = template.format(**values)
            chat: list[dict[str, Any]] = [
                {"role": "system", "content": system},
                {"role": "user", "content": "Draft the reply."},
            ]
        else:
            chat = [{"role": "system", "content": template.format(context=context)}]
            for earlier in request.history:
                chat.append({"role": "user", "content": earlier.asked})
                chat.append({"role": "assistant", "content": str(earlier.extra.get("answer", texts.ERROR_ANSWER))})
            chat.append({"role": "user", "content": question})

        gold = request.question.chunk_ids
        tool_name = tools.support_tool_for(rng, request) if feature == "support_chat" else None
        llm = _LLMCall(self, common, model, template, version, clock)
        if tool_name:
            answer, error, used = self._agent(request, query, root, llm, chat, context_hits, gold, tool_name, version)
        else:
            answer, error, used = self._direct(request, query, root, llm, chat, context_hits, gold, version)

        output = answer.text if not error else texts.ERROR_ANSWER
        request.extra["answer"] = output
        root.set_attributes({"output.value": output, "output.mime_type": "text/plain"})
        end = clock.advance(rng.uniform(2, 12))
        finish(root, end, error=error)
        ctx = root.get_span_context()
        return Emitted(
            _hex(ctx.trace_id, 32),
            _hex(ctx.span_id, 16),
            retriever_id,
            feature,
            version,
            used,
            request.time_ns,
            end,
            request.user_id,
            request.session_id,
            [d["id"] for d in docs],
            gold,
            request.question.covered,
            answer.grounded,
            error is not None,
            {"tool": tool_name, "experiment": experiment, "retriever_scores": [round(s, 4) for _, s in hits]},
        )

    # Answer paths ---------------------------------------------------------------------

    def _compose(
        self,
        request: Request,
        query: np.ndarray,
        hits: list[tuple[int, float]],
        gold: tuple[str, ...],
        version: str,
        lead: str = "",
    ) -> Answer:
        style = {"v1": "v1", "v2": "v2", "v3": "draft", "v4": "draft"}[version]
        if not request.question.covered:
            answer = self.kb.uncovered_answer(self.rng, hits, "v2" if version == "v2" else "v1")
        else:
            answer = self.kb.answer(self.rng, query, gold, hits, style, lead)
        if request.feature == "ticket_draft":
            answer.text = draft_reply(
                self.rng, answer.text, str(request.extra["customer"]), request.user_id, answer.cited
            )
        return answer

    def _direct(
        self,
        request: Request,
        query: np.ndarray,
        root: trace.Span,
        llm: _LLMCall,
        chat: list[dict[str, Any]],
        hits: list[tuple[int, float]],
        gold: tuple[str, ...],
        version: str,
    ) -> tuple[Answer, str | None, str]:
        answer = self._compose(request, query, hits, gold, version)
        error, used = llm.call(root, chat, answer.text, request)
        return answer, error, used

    def _agent(
        self,
        request: Request,
        query: np.ndarray,
        root: trace.Span,
        llm: _LLMCall,
        chat: list[dict[str, Any]],
        hits: list[tuple[int, float]],
        gold: tuple[str, ...],
        tool_name: str,
        version: str,
    ) -> tuple[Answer, str | None, str]:
        rng, clock = self.rng, llm.clock
        agent = start(
            self.tracer,
            "support_agent",
            clock.advance(rng.uniform(0.5, 2)),
            root,
            {"openinference.span.kind": "AGENT", "input.value": request.asked, **llm.common},
        )
        gold_text = self.kb.chunks[self.kb.index[gold[0]]].text if gold else ""
        result = tools.call(rng, tool_name, request, gold_text)
        call_id = f"call_{rng.integers(0, 16**12):012x}"
        tool_call = {"id": call_id, "name": tool_name, "arguments": result.arguments}
        error, used = llm.call(agent, chat, None, request, tool_calls=[tool_call], tools=[tool_name])
        if error:
            finish(agent, clock.advance(rng.uniform(0.5, 2)), error=error)
            return Answer(texts.ERROR_ANSWER, [], False), error, used
        tool_span = start(
            self.tracer,
            tool_name,
            clock.advance(rng.uniform(1, 4)),
            agent,
            {
                "openinference.span.kind": "TOOL",
                "tool.name": tool_name,
                "tool.description": tools.SPECS[tool_name]["description"],
                "tool.parameters": json.dumps(tools.SPECS[tool_name]["parameters"]),
                "input.value": json.dumps(result.arguments),
                "input.mime_type": "application/json",
                **llm.common,
            },
        )
        end = clock.advance(result.latency_ms)
        if result.error:
            error_event(tool_span, end, "httpx.ReadTimeout", result.error, _STACK_TIMEOUT)
        else:
            tool_span.set_attributes({"output.value": result.result_json, "output.mime_type": "application/json"})
        finish(tool_span, end, error=result.error)
        follow = [
            *chat,
            {"role": "assistant", "content": None, "tool_calls": [tool_call]},
            {"role": "tool", "content": result.result_json, "tool_call_id": call_id, "name": tool_name},
        ]
        answer = self._compose(request, query, hits, gold, version, lead=result.lead)
        error, used = llm.call(agent, follow, answer.text, request, cached_prefix=llm.last_prompt)
        finish(agent, clock.advance(rng.uniform(0.5, 3)), error=error)
        return answer, error, used

    def _thread(self, request: Request) -> str:
        """Earlier messages of the ticket (for prompt v4)."""
        rng = self.rng
        when = request.when - dt.timedelta(days=float(rng.uniform(0.5, 4)))
        lines = []
        pool = [c for c in self.kb.chunks if c.topic == request.question.topic] or self.kb.chunks
        name = request.extra["customer"]
        agent = request.user_id.split("_", 1)[-1].capitalize()
        for _ in range(int(rng.integers(1, 4))):
            chunk = pool[int(rng.integers(0, len(pool)))]
            lines.append(
                f"[{when:%Y-%m-%d %H:%M}] Customer ({name}): {chunk.title}? We're still seeing problems with this."
            )
            when += dt.timedelta(hours=float(rng.uniform(0.3, 6)))
            reply = " ".join(self.kb.sentences[self.kb.index[chunk.id]][:2])
            lines.append(f"[{when:%Y-%m-%d %H:%M}] Agent ({agent}): {reply}")
            when += dt.timedelta(hours=float(rng.uniform(2, 20)))
        return "\n".join(lines)


class _LLMCall:
    """Emits LLM spans for one request: tokens, first-token event, brownout 404s, fallback."""

    def __init__(
        self, app: SupportApp, common: dict[str, Any], model: str, template: str, version: str, clock: Clock
    ) -> None:
        self.app, self.common, self.model, self.template, self.version, self.clock = (
            app,
            common,
            model,
            template,
            version,
            clock,
        )
        self.last_prompt = 0

    def call(
        self,
        parent: trace.Span,
        chat: list[dict[str, Any]],
        answer: str | None,
        request: Request,
        *,
        tool_calls: list[dict[str, Any]] | None = None,
        tools: list[str] | None = None,
        cached_prefix: int = 0,
    ) -> tuple[str | None, str]:
        """Emit one model call (and its fallback after a 404); return (error, model used)."""
        rng, when = self.app.rng, request.when
        model = self.model
        if model == Timeline.old_chat_model and Timeline.in_brownout(
            dt.datetime.fromtimestamp(self.clock.t / 1e9, tz=dt.timezone.utc)
        ):
            span = self._start(parent, model, chat, tools)
            end = self.clock.advance(float(rng.uniform(120, 380)))
            message = _NOT_FOUND % model
            error_event(span, end, "openai.NotFoundError", message, _STACK_404)
            finish(span, end, error=message)
            if when < Timeline.fallback_from:
                return "NotFoundError: model_not_found", model
            model = Timeline.fallback_model
        span = self._start(parent, model, chat, tools)
        prompt = sum(tokens(m["content"] or "") + 4 for m in chat) + 3
        prompt += sum(tokens(json.dumps(c["arguments"])) for m in chat for c in m.get("tool_calls", ()))
        out_text = answer if answer is not None else ""
        completion = (
            tokens(out_text)
            if answer is not None
            else 12 + sum(tokens(json.dumps(c["arguments"])) for c in tool_calls or ())
        )
        # OpenAI serves a prompt's longest recently seen prefix from its cache, from 1,024
        # tokens, in steps of 128: the static guide when the same prompt ran minutes ago,
        # the whole first call for the agent's second call.
        cache = 0
        key = (model, self.version)
        if MODELS[model].provider == "openai" and prompt >= 1024:
            static = tokens(self.template.split("{context}")[0]) + 4
            warm = self.clock.t - self.app.last_call.get(key, -(10**18)) < 5 * 60 * 10**9
            prefix = max(cached_prefix, static if warm else 0)
            cache = min(prompt, prefix) // 128 * 128 if prefix >= 1024 else 0
        self.app.last_call[key] = self.clock.t
        ttft, total = timing(rng, model, prompt, completion)
        start_ns = self.clock.t
        out_message: dict[str, Any] = {"role": "assistant", "content": answer}
        if tool_calls:
            out_message["tool_calls"] = tool_calls
        attrs = {
            **messages("llm.output_messages", [out_message]),
            "llm.token_count.prompt": prompt,
            "llm.token_count.completion": completion,
            "llm.token_count.total": prompt + completion,
        }
        if cache:
            attrs["llm.token_count.prompt_details.cache_read"] = cache
        if answer is not None:
            attrs.update({"output.value": answer, "output.mime_type": "text/plain"})
        span.set_attributes(attrs)
        span.add_event("First Token Stream Event", timestamp=int(start_ns + ttft * 1e6))
        finish(span, self.clock.advance(total))
        self.last_prompt = prompt
        return None, model

    def _start(self, parent: trace.Span, model: str, chat: list[dict[str, Any]], tools: list[str] | None) -> trace.Span:
        profile = MODELS[model]
        params = {"model": model, "temperature": 0.2, "max_tokens": 800, "stream": True}
        attrs: dict[str, Any] = {
            "openinference.span.kind": "LLM",
            "llm.model_name": model,
            "llm.provider": profile.provider,
            "llm.system": profile.system,
            "llm.invocation_parameters": json.dumps(params),
            "llm.prompt_template.template": self.template,
            "llm.prompt_template.version": self.version,
            **messages("llm.input_messages", chat),
            **self.common,
        }
        for i, name in enumerate(tools or ()):
            schema = {"type": "function", "function": {"name": name, **TOOL_SPECS[name]}}
            attrs[f"llm.tools.{i}.tool.json_schema"] = json.dumps(schema)
        return start(
            self.app.tracer,
            profile.span_name,
            self.clock.advance(float(self.app.rng.uniform(0.5, 3))),
            parent,
            attrs,
            kind=OtelKind.CLIENT,
        )
