"""Settings of the metrics endpoint and the log format, read from the environment."""

from __future__ import annotations

import pytest

from stage2_operator.config import OperatorConfig


def test_defaults_bind_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STAGE2_METRICS_PORT", "STAGE2_METRICS_ADDRESS", "STAGE2_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    config = OperatorConfig.from_env()
    assert config.metrics_port == 9090
    assert config.metrics_address == "127.0.0.1"
    assert config.log_format == "text"


def test_values_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE2_METRICS_PORT", "0")
    monkeypatch.setenv("STAGE2_METRICS_ADDRESS", "0.0.0.0")
    monkeypatch.setenv("STAGE2_LOG_FORMAT", "JSON")
    config = OperatorConfig.from_env()
    assert config.metrics_port == 0
    assert config.metrics_address == "0.0.0.0"
    assert config.log_format == "json"


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("STAGE2_METRICS_PORT", "65536", "STAGE2_METRICS_PORT"),
        ("STAGE2_METRICS_PORT", "-1", "STAGE2_METRICS_PORT"),
        ("STAGE2_METRICS_PORT", "90.5", "STAGE2_METRICS_PORT"),
        ("STAGE2_METRICS_PORT", "nine", "STAGE2_METRICS_PORT"),
        ("STAGE2_LOG_FORMAT", "xml", "STAGE2_LOG_FORMAT"),
    ],
)
def test_invalid_values_rejected(monkeypatch: pytest.MonkeyPatch, name: str, raw: str, expected: str) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(ValueError, match=expected):
        OperatorConfig.from_env()
