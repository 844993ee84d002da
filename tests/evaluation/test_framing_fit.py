import json
import shutil

import numpy as np
from helpers import edgefer_without_tensorflow

from edgefer.core.metadata import CropGeometry, read_metadata
from edgefer.device.bundled import default_model_path
from edgefer.device.faces import make_detector
from edgefer.evaluation.framing import stage


def test_staging_centres_the_enlarged_face_on_grey():
    face = np.arange(48 * 48, dtype=np.uint8).reshape(48, 48)
    frame, offset, side = stage(face)
    assert frame.shape == (384, 384, 3) and (offset, side) == (96, 192)
    assert (frame[:96] == 128).all() and np.array_equal(frame[96:100, 96:100, 0], np.full((4, 4), face[0, 0]))


def test_fit_writes_the_geometry_into_a_model_and_check_measures_the_device_path(real_fer2013, tmp_path):
    model = str(tmp_path / "model_int8.tflite")
    shutil.copy(default_model_path(), model)
    geometry_path = tmp_path / "g.json"
    result = edgefer_without_tensorflow("framing", "fit", real_fer2013, "--limit", "200", "--out", str(geometry_path),
                                        "--into", model)
    assert result.returncode == 0, result.stderr[-2000:]
    fitted = json.loads(geometry_path.read_text())
    assert set(fitted["crop"]) == {"blazeface-full", "blazeface-short"}
    assert {name: g.to_metadata() for name, g in read_metadata(model).crop.items()} == fitted["crop"]
    full = CropGeometry.from_metadata(fitted["crop"]["blazeface-full"], "g.json")
    assert 0.6 < full.box_size < 1.1 and 0.4 < full.centre[0] < 0.6  # a face-sized box, centred across
    assert fitted["fitted_on"]["faces"]["blazeface-full"]["found"] > 100

    result = edgefer_without_tensorflow("framing", "check", real_fer2013, "--model", model, "--limit", "140",
                                        "--detector", "blazeface-short")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert (report["split"], report["n"], report["detector"]) == ("val", 140, "blazeface-short")
    assert report["detection_rate"] > 0.9 and 0.4 < report["accuracy_device_path_detected"] <= 1
    assert report["geometry"] == fitted["crop"]  # each face is cut with the geometry of the model that found it


def test_the_detectors_find_staged_fer_faces(real_fer2013):
    from edgefer.data.datasets import load_dataset, stratified_indices

    val = load_dataset(real_fer2013, ("val",)).split("val")
    faces = val.images[stratified_indices(val.labels, 70, seed=0)]
    found = sum(bool(make_detector("blazeface-short", min_size=0).detect(stage(face)[0])) for face in faces)
    assert found >= 60
