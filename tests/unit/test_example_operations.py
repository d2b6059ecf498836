"""Run each example operation's stage2_interface.py as a subprocess and check its real output.

The image operations need Pillow, numpy and shapely in the host Python
(``pip install -r examples/requirements-dev.txt``). Their tests are skipped
with the reason when a package is missing.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "examples" / "operations"
SDK_DIR = ROOT / "sdk"
for extra_path in (SDK_DIR, ROOT / "examples"):
    if str(extra_path) not in sys.path:
        sys.path.insert(0, str(extra_path))

import stage2_sdk  # noqa: E402
import sync_sdk  # noqa: E402

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read operation.yaml")

OPERATION_NAMES = sorted(path.parent.name for path in OPERATIONS.glob("*/stage2_interface.py"))
STDLIB_ONLY = {"text-source", "text-upper", "fail-once"}


def load_operation(name):
    return yaml.safe_load((OPERATIONS / name / "operation.yaml").read_text())


def require(*modules):
    for module in modules:
        pytest.importorskip(module, reason="{} is not installed; run pip install -r "
                                           "examples/requirements-dev.txt".format(module))


def run_operation(name, work_dir, parameters=None, inputs=None, attempt=1, node=None):
    """Run operation ``name`` in a subprocess and return (completed process, output base path).

    The payload is first checked against operation.yaml with the SDK, which also
    fills in defaults, as the controller does before it starts a Job.
    """
    node = node or name
    spec = load_operation(name)["spec"]
    output_base = work_dir / "outputs" / node / "data"
    outputs = {spec["output"].get("name", "output"): str(output_base)} if spec.get("output") else {}
    document = {
        "context": {"workflow": "local", "namespace": "default", "node": node, "operation": name,
                    "run": "1", "attempt": attempt},
        "inputs": {port: [str(path) for path in paths] for port, paths in (inputs or {}).items()},
        "outputs": outputs,
        "parameters": parameters or {},
    }
    payload = stage2_sdk.validate_payload(stage2_sdk.parse_payload(document), spec)
    environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    environment.pop("STAGE2_PAYLOAD_FILE", None)
    result = subprocess.run([sys.executable, "stage2_interface.py", json.dumps(payload.as_dict())],
                            cwd=str(OPERATIONS / name), capture_output=True, text=True, env=environment,
                            timeout=120)
    return result, output_base


def run_ok(name, work_dir, **options):
    result, output_base = run_operation(name, work_dir, **options)
    assert result.returncode == 0, result.stderr
    return result, output_base


# Folder layout, manifests and SDK copies


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_folder_has_build_files(name):
    folder = OPERATIONS / name
    for file_name in ("Dockerfile", "requirements.txt", "operation.yaml", "stage2_interface.py"):
        assert (folder / file_name).is_file(), file_name
    dockerfile = (folder / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM python:3.11-slim\n")
    assert "WORKDIR /app" in dockerfile
    assert "pip install --no-cache-dir -r requirements.txt" in dockerfile


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_sdk_copy_matches_sdk(name):
    copy = OPERATIONS / name / "stage2_sdk"
    assert not sync_sdk.copy_differs(copy), "run: python examples/sync_sdk.py"


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_requirements_are_pinned(name):
    lines = [line.strip() for line in (OPERATIONS / name / "requirements.txt").read_text().splitlines()]
    packages = [line for line in lines if line and not line.startswith("#")]
    for package in packages:
        assert "==" in package, package
    if name in STDLIB_ONLY:
        assert packages == []


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_manifest_names_local_image(name):
    manifest = load_operation(name)
    assert manifest["apiVersion"] == "stage2.dev/v1alpha1"
    assert manifest["kind"] == "Operation"
    assert manifest["metadata"]["name"] == name
    assert manifest["spec"]["image"] == "localhost/stage2-example-{}:dev".format(name)
    assert manifest["spec"]["imagePullPolicy"] == "IfNotPresent"


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_manifest_family_matches_ports(name):
    spec = load_operation(name)["spec"]
    has_inputs = bool(spec.get("inputs"))
    has_output = spec.get("output") is not None
    expected = {"source": (False, True), "compute": (True, True), "sink": (True, False)}[spec["family"]]
    assert (has_inputs, has_output) == expected


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_manifest_fits_operator_model(name):
    models = pytest.importorskip("stage2_operator.models", reason="the operator's models need pydantic")
    models.OperationSpec.model_validate(load_operation(name)["spec"])


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_defaults_pass_manifest_check(name):
    spec = load_operation(name)["spec"]
    inputs = {port: ["/in/{}/data.txt".format(port)] for port in spec.get("inputs") or {}}
    outputs = {spec["output"].get("name", "output"): "/out/data"} if spec.get("output") else {}
    document = {"inputs": inputs, "outputs": outputs, "parameters": {}}
    payload = stage2_sdk.validate_payload(stage2_sdk.parse_payload(document), spec)
    assert set(payload.parameters) == set(spec.get("parameters") or {})


# Text operations (standard library only)


def test_text_source_writes_text_exactly(tmp_path):
    text = "Grüße,\r\nworld\n"
    _, output_base = run_ok("text-source", tmp_path, parameters={"Text": text})
    written = output_base.with_name("data.txt")
    assert written.read_bytes() == text.encode("utf-8")
    assert [path.name for path in written.parent.iterdir()] == ["data.txt"]


def test_text_source_default_text(tmp_path):
    _, output_base = run_ok("text-source", tmp_path)
    assert output_base.with_name("data.txt").read_text() == "hello"


def test_text_upper_concatenates_in_order(tmp_path):
    first = tmp_path / "a.txt"
    second = tmp_path / "b.txt"
    first.write_text("abc\n", encoding="utf-8")
    second.write_text("straße", encoding="utf-8")
    _, output_base = run_ok("text-upper", tmp_path, inputs={"Text": [second, first]})
    assert output_base.with_name("data.txt").read_text(encoding="utf-8") == "STRASSEABC\n"


def test_text_upper_rejects_directory(tmp_path):
    result, _ = run_operation("text-upper", tmp_path, inputs={"Text": [tmp_path]})
    assert result.returncode == 1
    assert "is not a file" in result.stderr


def test_text_upper_rejects_bad_payload(tmp_path):
    command = [sys.executable, "stage2_interface.py", json.dumps({"inputs": {}, "outputs": {}})]
    result = subprocess.run(command, cwd=str(OPERATIONS / "text-upper"), capture_output=True, text=True,
                            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"), timeout=60)
    assert result.returncode == 2
    assert "'parameters'" in result.stderr


# Failure operation


def test_fail_once_fails_first_attempt(tmp_path):
    source = tmp_path / "data.txt"
    source.write_text("payload")
    result, output_base = run_operation("fail-once", tmp_path, inputs={"Input": [source]},
                                        parameters={"Exit Code": 42})
    assert result.returncode == 42
    assert "failing on purpose" in result.stderr
    assert not output_base.parent.exists()


def test_fail_once_passes_second_attempt(tmp_path):
    source = tmp_path / "data.tar.gz"
    source.write_bytes(b"\x1f\x8b archive")
    _, output_base = run_ok("fail-once", tmp_path, inputs={"Input": [source]}, attempt=2)
    assert output_base.with_name("data.tar.gz").read_bytes() == b"\x1f\x8b archive"


def test_fail_once_copies_directory(tmp_path):
    source = tmp_path / "data"
    (source / "nested").mkdir(parents=True)
    (source / "nested" / "x.txt").write_text("x")
    _, output_base = run_ok("fail-once", tmp_path, inputs={"Input": [source]},
                            parameters={"Failing Attempts": 0})
    assert (output_base / "nested" / "x.txt").read_text() == "x"


def test_fail_once_can_always_fail(tmp_path):
    source = tmp_path / "data.txt"
    source.write_text("payload")
    result, _ = run_operation("fail-once", tmp_path, inputs={"Input": [source]}, attempt=5,
                              parameters={"Failing Attempts": 100, "Exit Code": 3})
    assert result.returncode == 3


# Image operations


def test_make_image_is_deterministic(tmp_path):
    require("PIL")
    from PIL import Image

    parameters = {"Width": 40, "Height": 24, "Seed": 7, "Circles": 3}
    _, first = run_ok("make-image", tmp_path / "one", parameters=parameters)
    _, second = run_ok("make-image", tmp_path / "two", parameters=parameters)
    _, other = run_ok("make-image", tmp_path / "three", parameters=dict(parameters, Seed=8))
    with Image.open(first.with_name("data.png")) as image:
        assert image.size == (40, 24)
        assert image.mode == "RGB"
        pixels = image.tobytes()
    with Image.open(second.with_name("data.png")) as image:
        assert image.tobytes() == pixels
    with Image.open(other.with_name("data.png")) as image:
        assert image.tobytes() != pixels


def test_make_image_draws_gradient(tmp_path):
    require("PIL")
    from PIL import Image

    _, output_base = run_ok("make-image", tmp_path, parameters={"Width": 64, "Height": 32, "Circles": 0})
    with Image.open(output_base.with_name("data.png")) as image:
        left, top, _ = image.getpixel((0, 0))
        right, bottom, _ = image.getpixel((63, 31))
    assert right > left + 150
    assert bottom > top + 150


def test_make_image_rejects_width_above_max(tmp_path):
    require("PIL")
    with pytest.raises(stage2_sdk.PayloadError) as caught:
        run_operation("make-image", tmp_path, parameters={"Width": 5000})
    assert caught.value.field == "parameters.Width"


def make_png(path, size, colour, mode="RGB"):
    from PIL import Image

    Image.new(mode, size, colour).save(path)
    return path


def test_adjust_contrast_zero_flattens(tmp_path):
    require("PIL")
    from PIL import Image

    _, source = run_ok("make-image", tmp_path, parameters={"Width": 32, "Height": 32}, node="make")
    _, output_base = run_ok("adjust-contrast", tmp_path, parameters={"Contrast Factor": 0},
                            inputs={"Raw Image File": [source.with_name("data.png")]})
    with Image.open(output_base.with_name("data.png")) as image:
        assert image.size == (32, 32)
        assert len(image.getcolors()) == 1


def test_adjust_contrast_one_keeps_pixels(tmp_path):
    require("PIL")
    from PIL import Image

    _, source = run_ok("make-image", tmp_path, parameters={"Width": 32, "Height": 16}, node="make")
    _, output_base = run_ok("adjust-contrast", tmp_path, parameters={"Contrast Factor": 1.0},
                            inputs={"Raw Image File": [source.with_name("data.png")]})
    with Image.open(source.with_name("data.png")) as original, \
            Image.open(output_base.with_name("data.png")) as adjusted:
        assert adjusted.tobytes() == original.tobytes()


def test_adjust_contrast_keeps_alpha(tmp_path):
    require("PIL")
    from PIL import Image

    source = make_png(tmp_path / "in.png", (4, 4), (10, 200, 30, 77), mode="RGBA")
    _, output_base = run_ok("adjust-contrast", tmp_path, parameters={"Contrast Factor": 2.0},
                            inputs={"Raw Image File": [source]})
    with Image.open(output_base.with_name("data.png")) as image:
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 77


def test_adjust_contrast_rejects_two_inputs(tmp_path):
    require("PIL")
    source = make_png(tmp_path / "in.png", (4, 4), (0, 0, 0))
    with pytest.raises(stage2_sdk.PayloadError) as caught:
        run_operation("adjust-contrast", tmp_path, inputs={"Raw Image File": [source, source]})
    assert caught.value.field == "inputs.Raw Image File"


def test_blend_one_input_passes_through(tmp_path):
    require("PIL", "numpy")
    from PIL import Image

    _, source = run_ok("make-image", tmp_path, parameters={"Width": 20, "Height": 10}, node="make")
    _, output_base = run_ok("blend-images", tmp_path, inputs={"Images": [source.with_name("data.png")]})
    with Image.open(source.with_name("data.png")) as original, \
            Image.open(output_base.with_name("data.png")) as blended:
        assert blended.mode == "RGB"
        assert blended.tobytes() == original.tobytes()


def test_blend_two_inputs_equal_weights(tmp_path):
    require("PIL", "numpy")
    from PIL import Image

    black = make_png(tmp_path / "black.png", (6, 4), (0, 0, 0))
    colour = make_png(tmp_path / "colour.png", (3, 2), (200, 100, 50))
    _, output_base = run_ok("blend-images", tmp_path, inputs={"Images": [black, colour]})
    with Image.open(output_base.with_name("data.png")) as image:
        assert image.size == (6, 4)
        assert image.getcolors() == [(24, (100, 50, 25))]


def test_blend_uses_weights(tmp_path):
    require("PIL", "numpy")
    from PIL import Image

    black = make_png(tmp_path / "black.png", (2, 2), (0, 0, 0))
    colour = make_png(tmp_path / "colour.png", (2, 2), (200, 100, 40))
    _, output_base = run_ok("blend-images", tmp_path, inputs={"Images": [black, colour]},
                            parameters={"Weights": [3, 1]})
    with Image.open(output_base.with_name("data.png")) as image:
        assert image.getpixel((1, 1)) == (50, 25, 10)


def test_blend_rejects_weight_count(tmp_path):
    require("PIL", "numpy")
    black = make_png(tmp_path / "black.png", (2, 2), (0, 0, 0))
    result, _ = run_operation("blend-images", tmp_path, inputs={"Images": [black]},
                              parameters={"Weights": [1, 2]})
    assert result.returncode == 2
    assert "parameters.Weights" in result.stderr


def test_image_stats_of_solid_image(tmp_path):
    require("PIL", "numpy")
    source = make_png(tmp_path / "in.png", (4, 3), (10, 20, 30))
    _, output_base = run_ok("image-stats", tmp_path, inputs={"Image": [source]},
                            parameters={"Histogram Bins": 4})
    statistics = json.loads(output_base.with_name("data.json").read_text())
    assert (statistics["width"], statistics["height"], statistics["pixels"]) == (4, 3, 12)
    assert statistics["mode"] == "RGB"
    assert statistics["bands"]["R"] == {"mean": 10.0, "std": 0.0, "min": 10.0, "max": 10.0, "median": 10.0}
    assert statistics["bands"]["B"]["mean"] == 30.0
    assert statistics["luminance"]["histogram"]["counts"] == [12, 0, 0, 0]
    assert statistics["luminance"]["histogram"]["edges"] == [0.0, 64.0, 128.0, 192.0, 256.0]


def test_image_stats_of_grayscale(tmp_path):
    require("PIL", "numpy")
    from PIL import Image

    image = Image.new("L", (2, 1))
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 255)
    source = tmp_path / "in.png"
    image.save(source)
    _, output_base = run_ok("image-stats", tmp_path, inputs={"Image": [source]})
    statistics = json.loads(output_base.with_name("data.json").read_text())
    assert statistics["bands"]["L"]["mean"] == 127.5
    assert statistics["bands"]["L"]["std"] == 127.5
    assert sum(statistics["luminance"]["histogram"]["counts"]) == 2


# Geometry operations


def test_make_geometry_points(tmp_path):
    require("shapely")
    _, output_base = run_ok("make-geometry", tmp_path, parameters={"Count": 5, "Extent": 10, "Seed": 1})
    collection = json.loads(output_base.with_name("data.geojson").read_text())
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 5
    for feature in collection["features"]:
        x, y = feature["geometry"]["coordinates"]
        assert feature["geometry"]["type"] == "Point"
        assert 0 <= x <= 10
        assert 0 <= y <= 10


def test_make_geometry_polygon_is_hull(tmp_path):
    require("shapely")
    _, output_base = run_ok("make-geometry", tmp_path, parameters={"Count": 50, "Shape": "polygon"})
    features = json.loads(output_base.with_name("data.geojson").read_text())["features"]
    assert len(features) == 1
    assert features[0]["geometry"]["type"] == "Polygon"


def test_buffer_point_area_near_pi(tmp_path):
    require("shapely")
    source = tmp_path / "in.geojson"
    source.write_text(json.dumps({"type": "Point", "coordinates": [0, 0]}))
    _, output_base = run_ok("buffer-geometry", tmp_path, inputs={"Geometry": [source]},
                            parameters={"Distance": 1.0, "Resolution": 32})
    features = json.loads(output_base.with_name("data.geojson").read_text())["features"]
    assert len(features) == 1
    assert features[0]["geometry"]["type"] == "Polygon"
    assert features[0]["properties"]["area"] == pytest.approx(3.14159, rel=0.01)


def test_buffer_merges_inputs_and_dissolves(tmp_path):
    require("shapely")
    first = tmp_path / "a.geojson"
    second = tmp_path / "b.geojson"
    first.write_text(json.dumps({"type": "Feature", "properties": {"name": "a"},
                                 "geometry": {"type": "Point", "coordinates": [0, 0]}}))
    second.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "b"}, "geometry": {"type": "Point", "coordinates": [1, 0]}}]}))

    _, separate = run_ok("buffer-geometry", tmp_path / "separate", inputs={"Geometry": [first, second]})
    features = json.loads(separate.with_name("data.geojson").read_text())["features"]
    assert [feature["properties"]["name"] for feature in features] == ["a", "b"]

    _, dissolved = run_ok("buffer-geometry", tmp_path / "dissolved", inputs={"Geometry": [first, second]},
                          parameters={"Dissolve": True})
    features = json.loads(dissolved.with_name("data.geojson").read_text())["features"]
    assert len(features) == 1
    assert features[0]["properties"]["dissolved"] == 2
    assert features[0]["properties"]["area"] < 2 * 3.1416


def test_buffer_rejects_non_geojson(tmp_path):
    require("shapely")
    source = tmp_path / "in.json"
    source.write_text("[1, 2]")
    result, _ = run_operation("buffer-geometry", tmp_path, inputs={"Geometry": [source]})
    assert result.returncode == 1
    assert "is not GeoJSON" in result.stderr


# Report sink


def test_render_report_text(tmp_path):
    require("PIL")
    image = make_png(tmp_path / "data.png", (64, 32), (1, 2, 3))
    statistics = tmp_path / "data.json"
    statistics.write_text(json.dumps({"width": 64, "mode": "RGB"}))
    geometry = tmp_path / "data.geojson"
    geometry.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}},
        {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[0, 0], [3, 5]]}}]}))
    text = tmp_path / "data.txt"
    text.write_text("line one\nline two\n")
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "part.bin").write_bytes(b"\0\1")

    result, output_base = run_ok("render-report", tmp_path, parameters={"Title": "Survey"},
                                 inputs={"Inputs": [image, statistics, geometry, text, folder]})
    report = result.stdout
    assert report.startswith("Survey\n======\n")
    assert "image: 64x32 RGB (PNG)" in report
    assert "width: 64" in report
    assert 'mode: "RGB"' in report
    assert "features: 2" in report
    assert "geometry types: LineString x1, Point x1" in report
    assert "bounds: x 0.000..3.000, y 0.000..5.000" in report
    assert "| line two" in report
    assert "part.bin (2 bytes)" in report
    assert report.index("data.png") < report.index("data.json") < report.index("data.geojson")
    assert not output_base.parent.exists()


def test_render_report_html_escapes(tmp_path):
    require("PIL")
    text = tmp_path / "data.txt"
    text.write_text("<b>bold</b>")
    result, _ = run_ok("render-report", tmp_path, parameters={"Title": "A & B", "Format": "html"},
                       inputs={"Inputs": [text]})
    assert "<h1>A &amp; B</h1>" in result.stdout
    assert "&lt;b&gt;bold&lt;/b&gt;" in result.stdout
    assert "<b>bold</b>" not in result.stdout
