"""The partial batch response of an SQS FIFO event source: one record's failure holds back only its group.

What Powertools' ``SqsFifoPartialProcessor(skip_group_on_error=True)`` does, without its import: the batch
utilities import ``asyncio`` for their async processors, a fifth of the executor's cold start, and the
executor handles records one after the other. Records are handled in order; a record that raises is reported
in ``batchItemFailures``, and so is every later record of its message group, unhandled (FIFO order within a
group holds: SQS delivers them again after the failed one). Other groups go on. Every failed record is
reported by its own id, even when all of them fail, so Lambda retries exactly those.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

Record = dict[str, Any]


def group_of(record: Record) -> str | None:
    return (record.get("attributes") or {}).get("MessageGroupId")


def partial_response(records: Iterable[Record], handle: Callable[[Record], Any]) -> dict[str, Any]:
    """``{"batchItemFailures": [{"itemIdentifier": message id}, ...]}`` after handling ``records`` in order."""
    failed_groups: set[str | None] = set()
    failures: list[dict[str, str]] = []
    for record in records:
        group = group_of(record)
        if group is not None and group in failed_groups:
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        try:
            handle(record)
        except Exception:  # noqa: BLE001 - the handler logged it; the record is retried by SQS
            log.debug("record %s failed", record.get("messageId"), exc_info=True)
            failures.append({"itemIdentifier": record["messageId"]})
            if group is not None:
                failed_groups.add(group)
    return {"batchItemFailures": failures}
