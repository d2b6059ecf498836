"""SDK for writing stage2 operations.

An operation script reads one JSON payload, does its work and writes its
output next to the base path the payload names::

    from stage2_sdk import run

    def main(payload):
        factor = payload.parameter("Contrast Factor", float)
        source = payload.input("Raw Image File")
        target = payload.output_file("png")
        ...

    if __name__ == "__main__":
        run(main, manifest="operation.yaml")

The package uses only the standard library (Python 3.8 or newer), except that
reading a YAML manifest needs PyYAML.
"""

from .errors import (EXIT_FAILURE, EXIT_INVALID_PAYLOAD, EXIT_SUCCESS, ManifestError, OperationFailed,
                     PayloadError)
from .payload import PAYLOAD_FILE_ENV, Context, Payload, load_payload, parse_payload
from .runner import LOG_FORMAT, configure_logging, execute, get_logger, run
from .validation import load_manifest, operation_spec, validate_payload

__version__ = "0.1.0"

__all__ = [
    "EXIT_FAILURE", "EXIT_INVALID_PAYLOAD", "EXIT_SUCCESS", "LOG_FORMAT", "PAYLOAD_FILE_ENV",
    "Context", "ManifestError", "OperationFailed", "Payload", "PayloadError",
    "configure_logging", "execute", "get_logger", "load_manifest", "load_payload",
    "operation_spec", "parse_payload", "run", "validate_payload",
]
