"""Print a text or HTML report that summarises every input (a sink: it writes no output)."""

import hashlib
import html
import json
import sys

from PIL import Image, UnidentifiedImageError

from stage2_sdk import get_logger, run

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
MAX_LISTED_FILES = 20
MAX_TEXT_LINES = 10
MAX_VALUE_CHARACTERS = 200


def file_digest(path):
    """Return the first 12 hex digits of the file's SHA-256."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def short_json(value):
    text = json.dumps(value, sort_keys=True)
    if len(text) > MAX_VALUE_CHARACTERS:
        text = text[:MAX_VALUE_CHARACTERS - 3] + "..."
    return text


def collect_coordinates(coordinates, points):
    """Append every [x, y, ...] position found in nested GeoJSON coordinates to ``points``."""
    if coordinates and isinstance(coordinates[0], (int, float)):
        points.append(coordinates)
        return
    for item in coordinates or []:
        collect_coordinates(item, points)


def describe_geojson(document):
    features = document.get("features") if document.get("type") == "FeatureCollection" else [document]
    types = {}
    points = []
    for feature in features:
        geometry = feature.get("geometry") if feature.get("type") == "Feature" else feature
        if not geometry:
            continue
        types[geometry.get("type")] = types.get(geometry.get("type"), 0) + 1
        collect_coordinates(geometry.get("coordinates"), points)
    lines = ["features: {}".format(len(features)),
             "geometry types: {}".format(", ".join("{} x{}".format(name, count)
                                                   for name, count in sorted(types.items())) or "none")]
    if points:
        xs = [point[0] for point in points]
        ys = [point[1] for point in points]
        lines.append("bounds: x {:.3f}..{:.3f}, y {:.3f}..{:.3f}".format(min(xs), max(xs), min(ys), max(ys)))
    return lines


def describe_json(document):
    if isinstance(document, dict):
        return ["{}: {}".format(key, short_json(value)) for key, value in sorted(document.items())]
    return ["{}: {}".format(type(document).__name__, short_json(document))]


def describe_file(path):
    """Return summary lines for one input file, chosen by its extension."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        try:
            with Image.open(path) as image:
                return ["image: {}x{} {} ({})".format(image.width, image.height, image.mode, image.format)]
        except UnidentifiedImageError:
            return ["not a readable image"]
    if suffix in (".json", ".geojson"):
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
        if suffix == ".geojson" or (isinstance(document, dict) and document.get("type") == "FeatureCollection"):
            return describe_geojson(document)
        return describe_json(document)
    with open(path, "rb") as stream:
        head = stream.read(64 * 1024)
    if b"\0" in head:
        return ["binary data"]
    lines = head.decode("utf-8", errors="replace").splitlines()
    shown = ["| " + line for line in lines[:MAX_TEXT_LINES]]
    if len(lines) > MAX_TEXT_LINES:
        shown.append("({} more lines)".format(len(lines) - MAX_TEXT_LINES))
    return shown


def describe_input(path):
    """Return the heading and summary lines for one input path."""
    if path.is_dir():
        files = sorted(item for item in path.rglob("*") if item.is_file())
        lines = ["{} ({} bytes)".format(item.relative_to(path), item.stat().st_size)
                 for item in files[:MAX_LISTED_FILES]]
        if len(files) > MAX_LISTED_FILES:
            lines.append("({} more files)".format(len(files) - MAX_LISTED_FILES))
        return "{} (directory, {} files)".format(path, len(files)), lines
    heading = "{} ({} bytes, sha256 {})".format(path, path.stat().st_size, file_digest(path))
    return heading, describe_file(path)


def render_text(title, sections):
    parts = [title, "=" * len(title)]
    for heading, lines in sections:
        parts.extend(["", heading] + ["  " + line for line in lines])
    return "\n".join(parts) + "\n"


def render_html(title, sections):
    parts = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\"><title>{}</title></head><body>".format(
        html.escape(title)), "<h1>{}</h1>".format(html.escape(title))]
    for heading, lines in sections:
        parts.append("<section><h2>{}</h2><pre>{}</pre></section>".format(
            html.escape(heading), html.escape("\n".join(lines))))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def main(payload):
    title = payload.parameter("Title", str)
    report_format = payload.parameter("Format", str)
    sections = [describe_input(path) for path in payload.inputs("Inputs")]
    render = render_html if report_format == "html" else render_text
    sys.stdout.write(render(title, sections))
    sys.stdout.flush()
    get_logger().info("reported on %d input(s) as %s", len(sections), report_format)


if __name__ == "__main__":
    run(main, manifest="operation.yaml")
