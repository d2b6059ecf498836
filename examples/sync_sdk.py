"""Copy sdk/stage2_sdk into every example operation folder as stage2_sdk/.

Each operation image is built from its own folder only, so each folder needs
its own copy of the SDK. Run this after changing the SDK and commit the copies:

    python examples/sync_sdk.py          # rewrite the copies
    python examples/sync_sdk.py --check  # exit 1 and list the copies that differ
"""

import argparse
import filecmp
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SDK_PACKAGE = ROOT / "sdk" / "stage2_sdk"
OPERATIONS = ROOT / "examples" / "operations"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def operation_folders():
    """Return the example operation folders, those that contain a stage2_interface.py."""
    return sorted(path.parent for path in OPERATIONS.glob("*/stage2_interface.py"))


def sdk_files(package):
    """Return the relative paths of the SDK source files under ``package``."""
    return sorted(path.relative_to(package) for path in package.rglob("*.py") if "__pycache__" not in path.parts)


def copy_differs(copy):
    """Return True when ``copy`` does not hold exactly the SDK's source files."""
    if not copy.is_dir():
        return True
    expected = sdk_files(SDK_PACKAGE)
    if sdk_files(copy) != expected:
        return True
    return any(not filecmp.cmp(str(SDK_PACKAGE / name), str(copy / name), shallow=False) for name in expected)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report copies that differ from the SDK")
    arguments = parser.parse_args(argv)

    stale = []
    for folder in operation_folders():
        copy = folder / "stage2_sdk"
        if not copy_differs(copy):
            continue
        stale.append(copy)
        if not arguments.check:
            shutil.rmtree(str(copy), ignore_errors=True)
            shutil.copytree(str(SDK_PACKAGE), str(copy), ignore=IGNORED)

    for copy in stale:
        print("{} {}".format("differs:" if arguments.check else "updated:", copy.relative_to(ROOT)))
    return 1 if arguments.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
