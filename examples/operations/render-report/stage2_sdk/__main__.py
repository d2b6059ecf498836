"""Check a payload against an Operation manifest: ``python -m stage2_sdk MANIFEST PAYLOAD_FILE``.

Prints the payload with defaults filled in and exits 0, or logs the invalid
field and exits 2 (1 for an unreadable manifest).
"""

import argparse
import json
import sys
from typing import Optional, Sequence

from .errors import EXIT_FAILURE, EXIT_INVALID_PAYLOAD, EXIT_SUCCESS, ManifestError, PayloadError
from .payload import load_payload
from .runner import configure_logging, get_logger
from .validation import load_manifest, validate_payload


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stage2_sdk",
                                     description="Check a payload file against an Operation manifest.")
    parser.add_argument("manifest", help="Operation manifest, YAML (needs PyYAML) or JSON")
    parser.add_argument("payload_file", help="payload JSON file")
    arguments = parser.parse_args(argv)
    configure_logging()
    try:
        spec = load_manifest(arguments.manifest)
        payload = validate_payload(load_payload(["--payload-file", arguments.payload_file], {}), spec)
    except PayloadError as error:
        get_logger().error("%s", error)
        return EXIT_INVALID_PAYLOAD
    except ManifestError as error:
        get_logger().error("%s", error)
        return EXIT_FAILURE
    json.dump(payload.as_dict(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_SUCCESS


if __name__ == "__main__":
    sys.exit(main())
