"""JSON log lines for the operator's own loggers (`stage2.*`).

With `STAGE2_LOG_FORMAT=json` the startup handler calls `use_json()`. Then
every record of a `stage2.*` logger becomes one JSON object per line. Each
object has `time` (RFC 3339, UTC, milliseconds), `level`, `logger` and
`message`, plus `workflow`, `namespace`, `node` and `job` when the call passed
them with `extra=`. kopf's own loggers keep kopf's format, which
`kopf run --log-format=json` switches.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import IO

LOGGER = "stage2"
FIELDS = ("workflow", "namespace", "node", "job")


class JsonFormatter(logging.Formatter):
    """Formatter of one JSON object per record, with any exception's traceback in `error`."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
        document: dict[str, object] = {
            "time": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                document[field] = value
        if record.exc_info:
            document["error"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False, default=str)


def use_json(stream: IO[str] | None = None, *, logger_name: str = LOGGER) -> logging.Handler:
    """Send the records of `logger_name` and its children to `stream` (stderr) as JSON lines.

    The logger stops propagating to the root logger, so kopf's text handler
    does not print each record a second time. A second call replaces the
    handler of the first. Returns the handler.
    """
    logger = logging.getLogger(logger_name)
    for existing in list(logger.handlers):
        if isinstance(existing.formatter, JsonFormatter):
            logger.removeHandler(existing)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    return handler
