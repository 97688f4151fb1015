"""Sampling in the pipeline is released from more than one thread (the collector's, and a
flush on the program's): each kept batch still reaches the sink once."""

from __future__ import annotations

import threading

from tests.helpers import make_span
from workbench.collector.sampling import SamplingPolicy
from workbench.ingest import BatchSampler
from workbench.store.rows import to_tables


def test_two_threads_releasing_at_once_hand_each_batch_over_once():
    submitted = []
    inside, go_on = threading.Event(), threading.Event()

    def submit(batch):
        submitted.append(batch.num_spans)
        if len(submitted) == 1:
            inside.set()
            go_on.wait(10)  # the first release is still handing its batch over ...

    sampler = BatchSampler(SamplingPolicy(rate=1.0, decision_wait_s=0), submit)
    sampler.offer(to_tables([make_span(0, trace=1), make_span(1, trace=1, parent=0)]))
    first = threading.Thread(target=sampler.release, kwargs={"everything": True})
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=sampler.release, kwargs={"everything": True})
    second.start()  # ... when a second one starts
    second.join(0.5)
    go_on.set()
    first.join(10)
    second.join(10)
    assert submitted == [2]
    assert sampler.holding == 0
