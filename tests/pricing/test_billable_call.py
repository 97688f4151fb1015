"""One meaning of "a billable call" and its cost: sampling (one stage of the ingest pipeline
both ways in run) and the read API give every span the same cost."""

from __future__ import annotations

import math

from tests.helpers import make_span
from workbench.collector.sampling import SamplingPolicy
from workbench.ingest import BatchSampler, Prepare
from workbench.model import SpanKind, TokenUsage
from workbench.query import Reader
from workbench.store import Store
from workbench.store.rows import to_tables

# Each span: what it is, and the cost every part of workbench must agree on (None: unknown / no cost).
CASES = [
    # A priced LLM call with tokens: the prices apply.
    dict(kind=SpanKind.LLM, model_name="gpt-4o", provider="openai", tokens=TokenUsage(prompt=1000, completion=500)),
    # A priced embedding call is a call too (the in-process sampler once priced LLM spans only).
    dict(kind=SpanKind.EMBEDDING, model_name="text-embedding-3-small", provider="openai",
         tokens=TokenUsage(prompt=100_000)),
    # A chain that names a model is not a call (the server's sampler once priced any span with a model).
    dict(kind=SpanKind.CHAIN, model_name="gpt-4o", provider="openai", tokens=TokenUsage(prompt=1000, completion=500),
         client_cost=3.0),
    # A priced call that reported no tokens has no usage: its sender's own figure, else unknown.
    dict(kind=SpanKind.LLM, model_name="gpt-4o", provider="openai", tokens=TokenUsage(), client_cost=0.25),
    dict(kind=SpanKind.LLM, model_name="gpt-4o", provider="openai", tokens=TokenUsage()),
    # An unpriced model: the sender's figure.
    dict(kind=SpanKind.LLM, model_name="no-such-model-xyz", tokens=TokenUsage(prompt=10), client_cost=0.01),
]


def _spans():
    return [make_span(i, trace=i, **case) for i, case in enumerate(CASES)]


def test_sampling_in_process_in_the_server_and_the_read_api_agree_on_every_span_cost(db_path):
    spans = _spans()
    policy = SamplingPolicy(cost_usd=1.0)
    sampler = BatchSampler(policy, lambda batch: None)
    in_process = sampler._costs(Prepare(keep_source=True)(spans).batch.spans)  # the collector's rows
    server = sampler._costs(to_tables(spans).spans)  # a decoding worker's rows
    with Store(db_path) as store:
        store.write(spans)
        frame = Reader(store, owns_store=False).spans(columns=["span_id", "cost"], order_by="span_id")
    by_id = dict(zip(frame["span_id"], frame["cost"]))
    queried = [by_id[span.span_id] for span in spans]
    queried = [None if value is None or (isinstance(value, float) and math.isnan(value)) else value
               for value in queried]
    assert queried[0] is not None and queried[0] > 0
    assert queried[1] is not None and queried[1] > 0
    assert queried[2] is None and queried[3] == 0.25 and queried[4] is None and queried[5] == 0.01
    for a, b, c in zip(in_process, server, queried):
        assert (a is None and b is None and c is None) or (math.isclose(a, c) and math.isclose(b, c)), (
            in_process, server, queried)
