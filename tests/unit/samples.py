"""Sample Operation and Workflow specs as plain dicts, shared by unit tests.

`OPERATIONS` maps an Operation name to its `spec`, as a user would write it
in a manifest. Tests deep-copy a sample before changing it.
"""

from __future__ import annotations

import copy
from typing import Any

TEXT_SOURCE: dict[str, Any] = {
    "family": "source",
    "category": "text",
    "image": "registry.localhost/stage2/text-source:1.0",
    "parameters": {
        "Text": {"type": "string", "description": "Text to write.", "default": "hello"},
    },
    "output": {"name": "output"},
}

TEXT_UPPER: dict[str, Any] = {
    "family": "compute",
    "category": "text",
    "image": "registry.localhost/stage2/text-upper:1.0",
    "inputs": {
        "Text": {"description": "Text files to upper-case.", "multiplicity": {"min": 1}},
    },
    "output": {"name": "output"},
}

BLEND: dict[str, Any] = {
    "family": "compute",
    "category": "image",
    "image": "registry.localhost/stage2/blend:1.0",
    "inputs": {
        "Images": {"description": "One or two images.", "multiplicity": {"min": 1, "max": 2}},
    },
    "output": {"name": "output"},
}

REPORT: dict[str, Any] = {
    "family": "sink",
    "category": "report",
    "image": "registry.localhost/stage2/report:1.0",
    "inputs": {
        "Input": {"description": "File to report on.", "multiplicity": {"min": 1, "max": 1}},
    },
}

# A compute operation with one parameter of each type, including a name with
# spaces, a nullable one, an enum and length bounds.
CLIP_RASTER: dict[str, Any] = {
    "family": "compute",
    "category": "image",
    "image": "registry.localhost/stage2/clip-raster:1.0",
    "parameters": {
        "Contrast Factor": {"type": "number", "default": 1.0, "min": 0, "max": 10},
        "Label": {"type": "string", "nullable": True, "max": 16},
        "Mode": {"type": "string", "enum": ["fast", "exact"], "default": "fast"},
        "Iterations": {"type": "integer", "default": 3, "min": 1, "max": 100},
        "Automatic ROI": {"type": "boolean", "default": False},
        "Bands": {"type": "array", "default": [1, 2, 3], "min": 1, "max": 4},
        "Options": {"type": "object", "default": {}},
        "Seed": {"type": "integer"},
    },
    "inputs": {
        "Raw Image File": {"description": "Image to clip.", "multiplicity": {"min": 1, "max": 1}},
    },
    "output": {"name": "output"},
}

OPERATIONS: dict[str, dict[str, Any]] = {
    "text-source": TEXT_SOURCE,
    "text-upper": TEXT_UPPER,
    "blend": BLEND,
    "report": REPORT,
    "clip-raster": CLIP_RASTER,
}

# source -> compute -> sink, every port connected.
TEXT_PIPELINE: dict[str, Any] = {
    "nodes": [
        {"name": "load", "operation": "text-source", "parameters": {"Text": "hello world"}},
        {"name": "upper", "operation": "text-upper", "inputs": {"Text": ["load"]}},
        {"name": "show", "operation": "report", "inputs": {"Input": ["upper"]}},
    ],
}

# Two sources blended, clipped, then reported.
IMAGE_PIPELINE: dict[str, Any] = {
    "nodes": [
        {"name": "left", "operation": "text-source"},
        {"name": "right", "operation": "text-source"},
        {"name": "mix", "operation": "blend", "inputs": {"Images": ["left", "right"]}},
        {
            "name": "clip",
            "operation": "clip-raster",
            "parameters": {"Contrast Factor": 1.4, "Seed": 7},
            "inputs": {"Raw Image File": ["mix"]},
        },
        {"name": "show", "operation": "report", "inputs": {"Input": ["clip"]}},
    ],
    "parallelism": 2,
}


def operation(name: str) -> dict[str, Any]:
    """Return a deep copy of the sample Operation spec called `name`."""
    return copy.deepcopy(OPERATIONS[name])


def workflow(sample: dict[str, Any]) -> dict[str, Any]:
    """Return a deep copy of a sample Workflow spec."""
    return copy.deepcopy(sample)
