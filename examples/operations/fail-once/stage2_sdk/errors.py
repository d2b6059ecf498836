"""Exceptions and exit codes shared by the SDK modules."""

from typing import Optional

EXIT_SUCCESS = 0
EXIT_FAILURE = 1
EXIT_INVALID_PAYLOAD = 2


class PayloadError(ValueError):
    """The payload is missing a field or a field has an invalid value.

    ``field`` is the dotted location of the bad value, for example
    ``parameters.Contrast Factor`` or ``inputs.Raw Image File``.
    The runner turns this error into exit code 2.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__("invalid payload field {!r}: {}".format(field, message))
        self.field = field
        self.reason = message


class ManifestError(ValueError):
    """The Operation manifest cannot be read or its declaration is invalid."""


class OperationFailed(Exception):
    """Raise from an operation to fail with a message and a chosen exit code.

    The runner logs the message without a traceback and exits with
    ``exit_code``, which must be between 1 and 255.
    """

    def __init__(self, message: str, exit_code: Optional[int] = EXIT_FAILURE) -> None:
        super().__init__(message)
        if exit_code is None or not 1 <= int(exit_code) <= 255:
            raise ValueError("exit_code must be between 1 and 255, got {!r}".format(exit_code))
        self.exit_code = int(exit_code)
