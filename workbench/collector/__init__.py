"""Collection: spans from the running program and from OTLP requests, made into workbench spans.

The in-process processor (:mod:`.processor`, through :mod:`.readable`) and the OTLP decoders
(:mod:`.otlp`) each make one :class:`~workbench.model.RawSpan` record per span and end in the
same :func:`workbench.semconv.span_from`; the stages after it (:mod:`.pipeline` redaction,
:mod:`.sampling`'s policy, the sink of :mod:`.sink`) are put together once, as the ingest
pipeline both ways in run (:mod:`workbench.ingest`).
"""
