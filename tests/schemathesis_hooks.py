"""Schemathesis hooks for ``tests/test_rest_schema.py`` (loaded via ``SCHEMATHESIS_HOOKS``).

The one rule of the REST API that OpenAPI cannot state in a schema is across two query
parameters: a transcript range's ``start`` is not after its ``end`` (the server answers
400, as the operation's description and responses say). Generated ranges are put in
order so the positive-data checks test that rule's valid side.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook("map_query")
def ordered_transcript_range(context: Any, query: dict[str, Any] | None) -> Any:
    """Swap ``start``/``end`` of ``/transcript`` when both are numbers and out of order."""
    op = getattr(context, "operation", None)
    if not query or op is None or not str(op.path).endswith("/transcript"):
        return query
    start, end = query.get("start"), query.get("end")
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (start, end))
    if numbers and start > end:
        query["start"], query["end"] = end, start
    return query
