"""Collection: spans from the running program and from OTLP requests, made into workbench spans.

The in-process processor (:mod:`.processor`) and the OTLP decoders (:mod:`.otlp`) end in the
same :func:`workbench.semconv.make_span`; :mod:`.pipeline` (redaction) and :mod:`.sampling`
apply to both before anything reaches the sink (:mod:`.sink`).
"""
