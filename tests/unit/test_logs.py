"""JSON log lines of the stage2 loggers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from stage2_operator import logs


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """JSON logging of a private logger tree into a string, undone afterwards."""
    buffer = io.StringIO()
    handler = logs.use_json(buffer, logger_name="stage2test")
    logger = logging.getLogger("stage2test")
    logger.setLevel(logging.DEBUG)
    yield buffer
    logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_record_has_standard_fields(stream: io.StringIO) -> None:
    logging.getLogger("stage2test.reconcile").info("created %s %s", "Job", "wf-a-r1")
    [document] = lines(stream)
    assert document["message"] == "created Job wf-a-r1"
    assert document["level"] == "INFO"
    assert document["logger"] == "stage2test.reconcile"
    assert isinstance(document["time"], str)
    assert document["time"].endswith("Z")
    assert "workflow" not in document


def test_extra_fields_are_copied(stream: io.StringIO) -> None:
    fields = {"namespace": "ns", "workflow": "wf", "node": "a", "job": "wf-a-r1", "unrelated": "x"}
    logging.getLogger("stage2test.reconcile").warning("retrying", extra=fields)
    [document] = lines(stream)
    assert document["namespace"] == "ns"
    assert document["workflow"] == "wf"
    assert document["node"] == "a"
    assert document["job"] == "wf-a-r1"
    assert "unrelated" not in document


def test_exception_goes_in_error_field(stream: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("stage2test").exception("reconcile failed", extra={"workflow": "wf"})
    [document] = lines(stream)
    assert document["level"] == "ERROR"
    assert "RuntimeError: boom" in str(document["error"])


def test_records_stop_at_the_json_handler(stream: io.StringIO) -> None:
    class Recorder(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    recorder = Recorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    try:
        logging.getLogger("stage2test").info("once")
    finally:
        root.removeHandler(recorder)
    assert len(lines(stream)) == 1
    assert recorder.records == []


def test_second_call_replaces_the_handler(stream: io.StringIO) -> None:
    second = io.StringIO()
    handler = logs.use_json(second, logger_name="stage2test")
    logging.getLogger("stage2test").info("to the second stream")
    assert stream.getvalue() == ""
    assert len(lines(second)) == 1
    logging.getLogger("stage2test").removeHandler(handler)


def test_message_keeps_non_ascii_text(stream: io.StringIO) -> None:
    logging.getLogger("stage2test").info("Stage² node %s", "ä")
    [document] = lines(stream)
    assert document["message"] == "Stage² node ä"
