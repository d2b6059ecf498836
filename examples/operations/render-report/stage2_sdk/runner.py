"""The entry point that wraps an operation's main function: logging, validation, exit codes."""

import inspect
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from .errors import EXIT_FAILURE, EXIT_INVALID_PAYLOAD, EXIT_SUCCESS, ManifestError, OperationFailed, PayloadError
from .payload import Payload, load_payload
from .validation import load_manifest, operation_spec, validate_payload

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_LEVEL_ENV = "STAGE2_LOG_LEVEL"
LOGGER_NAME = "stage2"

_handler: Optional[logging.Handler] = None


def configure_logging(level: Union[int, str, None] = None) -> None:
    """Send log records of every logger to stderr in the SDK's one format.

    ``level`` defaults to $STAGE2_LOG_LEVEL, then INFO. Calling this again only
    changes the level, so it never installs a second handler.
    """
    global _handler
    if level is None:
        level = os.environ.get(LOG_LEVEL_ENV, "INFO")
    if isinstance(level, str):
        level = level.upper()
    root = logging.getLogger()
    if _handler is None:
        _handler = logging.StreamHandler(sys.stderr)
        _handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(_handler)
    try:
        root.setLevel(level)
    except (ValueError, TypeError):
        root.setLevel(logging.INFO)
        root.warning("invalid log level %r, using INFO", level)


def get_logger(name: Optional[str] = None) -> logging.Logger:
    """Return the ``stage2`` logger, or its child ``stage2.<name>``."""
    return logging.getLogger(LOGGER_NAME if not name else LOGGER_NAME + "." + name)


def execute(main: Callable[[Payload], Any],
            manifest: Union[str, Path, Mapping[str, Any], None] = None,
            argv: Optional[Sequence[str]] = None,
            environ: Optional[Mapping[str, str]] = None,
            require_output: bool = True) -> int:
    """Load the payload, call ``main(payload)`` and return the process exit code.

    ``manifest`` is an Operation manifest (a path, resolved next to the file
    that defines ``main`` when relative, or an already loaded mapping). When it
    is given, the payload is checked against it and defaults are filled in.
    Exit codes: 0 on success, 2 for an invalid payload (the log names the
    field), 1 for an exception in ``main`` (the log has the traceback) or a
    missing output, and the chosen code for :class:`OperationFailed`.
    With ``require_output``, an operation that has an output port but wrote
    nothing at its base path fails.
    """
    configure_logging()
    logger = get_logger()

    try:
        payload = load_payload(argv, environ)
        if manifest is not None:
            payload = validate_payload(payload, _load_spec(manifest, main))
    except PayloadError as error:
        logger.error("%s", error)
        return EXIT_INVALID_PAYLOAD
    except ManifestError as error:
        logger.error("%s", error)
        return EXIT_FAILURE
    except SystemExit as error:
        return _exit_code(error)

    context = payload.context
    logger.info("starting operation %s: workflow=%s namespace=%s node=%s run=%s attempt=%d",
                context.operation or "-", context.workflow or "-", context.namespace or "-",
                context.node or "-", context.run or "-", context.attempt)
    started = time.monotonic()
    code = _call_main(main, payload, logger)
    elapsed = time.monotonic() - started
    if code != EXIT_SUCCESS:
        logger.error("operation failed with exit code %d after %.2f s", code, elapsed)
        return code

    if require_output and payload.output_name is not None and not payload.written_outputs():
        base = payload.output_base
        logger.error("operation wrote no output: expected %s.<extension> or the directory %s/", base, base)
        return EXIT_FAILURE
    for path in payload.written_outputs():
        logger.info("wrote output %s", path)
    logger.info("operation succeeded after %.2f s", elapsed)
    return EXIT_SUCCESS


def run(main: Callable[[Payload], Any], **options: Any) -> None:
    """Run ``main`` as the operation's entry point and exit the process with the code from :func:`execute`."""
    sys.exit(execute(main, **options))


def _call_main(main: Callable[[Payload], Any], payload: Payload, logger: logging.Logger) -> int:
    try:
        main(payload)
    except PayloadError as error:
        logger.error("%s", error)
        return EXIT_INVALID_PAYLOAD
    except OperationFailed as error:
        logger.error("%s", error)
        return error.exit_code
    except SystemExit as error:
        return _exit_code(error)
    except KeyboardInterrupt:
        logger.error("interrupted")
        return 130
    except Exception:
        logger.exception("operation raised an exception")
        return EXIT_FAILURE
    return EXIT_SUCCESS


def _exit_code(error: SystemExit) -> int:
    """Map a SystemExit to the code the interpreter would exit with."""
    if error.code is None:
        return EXIT_SUCCESS
    if isinstance(error.code, int):
        return error.code
    get_logger().error("%s", error.code)
    return EXIT_FAILURE


def _load_spec(manifest: Union[str, Path, Mapping[str, Any]], main: Callable[..., Any]) -> Mapping[str, Any]:
    if isinstance(manifest, Mapping):
        return operation_spec(manifest)
    path = Path(manifest)
    if not path.is_absolute():
        try:
            path = Path(inspect.getfile(main)).resolve().parent / path
        except TypeError:
            pass  # main has no source file (a builtin or a partial), so keep the path relative to the cwd
    return load_manifest(path)
