"""Buffer GeoJSON features with Shapely."""

import json

from shapely.geometry import mapping, shape
from shapely.ops import unary_union

from stage2_sdk import OperationFailed, get_logger, run


def read_features(path):
    """Return the features of a GeoJSON file as a list of Feature mappings."""
    with open(path, encoding="utf-8") as stream:
        document = json.load(stream)
    kind = document.get("type") if isinstance(document, dict) else None
    if kind == "FeatureCollection":
        return list(document.get("features") or [])
    if kind == "Feature":
        return [document]
    if kind is not None:
        return [{"type": "Feature", "properties": {}, "geometry": document}]
    raise OperationFailed("input {} is not GeoJSON: expected an object with a 'type' member".format(path))


def buffer_features(features, distance, resolution, dissolve):
    """Return the buffered features, each with its area in ``properties.area``."""
    buffered = []
    for feature in features:
        if not feature.get("geometry"):
            continue
        geometry = shape(feature["geometry"]).buffer(distance, quad_segs=resolution)
        properties = dict(feature.get("properties") or {})
        buffered.append((geometry, properties))

    if dissolve:
        merged = unary_union([geometry for geometry, _ in buffered])
        buffered = [(merged, {"dissolved": len(buffered)})]

    result = []
    for geometry, properties in buffered:
        properties["area"] = geometry.area
        result.append({"type": "Feature", "properties": properties, "geometry": mapping(geometry)})
    return result


def main(payload):
    distance = payload.parameter("Distance", float)
    resolution = payload.parameter("Resolution", int)
    dissolve = payload.parameter("Dissolve", bool)
    features = []
    for path in payload.inputs("Geometry"):
        features.extend(read_features(path))

    buffered = buffer_features(features, distance, resolution, dissolve)
    with open(payload.output_file("geojson"), "w", encoding="utf-8") as stream:
        json.dump({"type": "FeatureCollection", "features": buffered}, stream)
    total_area = sum(feature["properties"]["area"] for feature in buffered)
    get_logger().info("buffered %d feature(s) by %g into %d feature(s) with total area %.3f",
                      len(features), distance, len(buffered), total_area)


if __name__ == "__main__":
    run(main, manifest="operation.yaml")
