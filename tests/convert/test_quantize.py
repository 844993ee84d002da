import json
import os
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow

from helpers import assert_one_line_error, edgefer  # noqa: E402

from edgefer.core.files import read_json  # noqa: E402
from edgefer.core.metadata import SCHEMA_VERSION, read_metadata, with_metadata  # noqa: E402
from edgefer.data import FER2013_GEOMETRY  # noqa: E402
from edgefer.data.calibration import read_manifest  # noqa: E402
from edgefer.data.datasets import load_dataset  # noqa: E402
from edgefer.device.runtime import Classifier  # noqa: E402

PARITY_KEYS = ("accuracy_float", "accuracy_quant", "drop_pp", "agreement", "n", "split", "per_class")


def test_manifest_holds_only_training_images(mini_fer2013, tiny_tflite):
    header, ids = read_manifest(tiny_tflite["manifest"])
    assert header == {"dataset": "fer2013", "split": "train", "strategy": "stratified", "size": "128", "seed": "0"}
    assert len(ids) == 128 and all(i.startswith("Training_") for i in ids)
    dataset = load_dataset(mini_fer2013)
    held_out = set(dataset.splits["val"].ids) | set(dataset.splits["test"].ids)
    assert not held_out & set(ids)


def test_manifest_with_a_test_image_is_refused(mini_fer2013, tiny_run, tmp_path):
    test_id = load_dataset(mini_fer2013, ("test",)).splits["test"].ids[0]
    manifest = tmp_path / "leaky.txt"
    manifest.write_text(f"# split: train\nTraining_x\n{test_id}\n")
    result = edgefer("quantize", tiny_run, "--data", mini_fer2013, "--calibration", str(manifest), "--out", str(tmp_path))
    assert_one_line_error(result, "cannot calibrate")


def test_empty_manifest_is_refused(mini_fer2013, tiny_run, tmp_path):
    manifest = tmp_path / "empty.txt"
    manifest.write_text("# edgefer calibration manifest\n# split: train\n")
    result = edgefer("quantize", tiny_run, "--data", mini_fer2013, "--calibration", str(manifest), "--out", str(tmp_path))
    assert_one_line_error(result, "lists no images")


def test_every_bundled_int8_file_agrees_with_its_float_twin_on_real_test_images(mini_fer2013):
    """Each shipped int8 file against its float32 twin on 300 real PrivateTest images."""
    from edgefer.device.bundled import bundled_models

    test = load_dataset(mini_fer2013, ("test",)).splits["test"]
    for shipped in bundled_models():
        float_model, int8_model = Classifier(shipped["float_path"]), Classifier(shipped["path"])
        assert int8_model.input["dtype"] == np.int8 and int8_model.output["dtype"] == np.int8
        float_probs, int8_probs = float_model.predict(test.images), int8_model.predict(test.images)
        assert (float_probs.argmax(1) == int8_probs.argmax(1)).mean() >= 0.97, shipped["name"]
        assert np.abs(float_probs - int8_probs).mean() < 0.01, shipped["name"]


def test_tiny_int8_file_is_full_integer_and_close_to_float(tiny_tflite, mini_fer2013):
    test = load_dataset(mini_fer2013, ("test",)).splits["test"]
    float_model, int8_model = Classifier(tiny_tflite["float32"]), Classifier(tiny_tflite["int8"])
    assert int8_model.input["dtype"] == np.int8 and int8_model.output["dtype"] == np.int8
    assert np.abs(float_model.predict(test.images) - int8_model.predict(test.images)).mean() < 0.05


def test_metadata_round_trips(tiny_tflite, tiny_run):
    config = json.load(open(os.path.join(tiny_run, "config.json")))
    for mode in ("float32", "int8"):
        metadata = read_metadata(tiny_tflite[mode])
        assert list(metadata.labels) == config["labels"]
        assert metadata.face_size == 48 and metadata.image_size == 64
        assert (metadata.normalisation.mean, metadata.normalisation.scale) == \
            (config["normalisation"]["mean"], config["normalisation"]["scale"])
        assert metadata.mode == mode and metadata.schema == SCHEMA_VERSION
        assert {name: g.to_metadata() for name, g in metadata.crop.items()} == read_json(FER2013_GEOMETRY)["crop"]
    assert read_metadata(tiny_tflite["int8"]).calibration["size"] == "128"


def test_int8_op_report_is_all_integer(tiny_tflite):
    report = json.load(open(os.path.join(tiny_tflite["dir"], "tiny_int8.ops.json")))
    assert report["all_integer"] and report["first_cpu_op"] is None
    assert report["types"]["CONV_2D"]["count"] > 10


def test_parity_report_and_gate(tiny_tflite, mini_fer2013, tmp_path):
    out = tmp_path / "parity"
    result = edgefer("parity", tiny_tflite["float32"], tiny_tflite["int8"], "--data", mini_fer2013,
                     "--split", "test", "--out", str(out), "--max-drop", "100")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.load(open(out / "report.json"))
    for key in PARITY_KEYS:
        assert key in report
    assert report["n"] == 300 and report["split"] == "test"
    lo, hi = report["drop_pp_ci95"]
    assert lo <= report["drop_pp"] <= hi
    predictions = (out / "predictions.csv").read_text().splitlines()
    assert len(predictions) == 301 and predictions[0].startswith("id,true,float,quant,p_quant_angry")
    agreed = sum(row.split(",")[2] == row.split(",")[3] for row in predictions[1:])
    assert agreed / 300 == pytest.approx(report["agreement"])
    for name in ("report.md", "confusion_float.png", "confusion_quant.png", "disagreements.png"):
        assert (out / name).stat().st_size > 0
    # the gate: a limit just under the measured drop fails, on the same images
    strict = edgefer("parity", tiny_tflite["float32"], tiny_tflite["int8"], "--data", mini_fer2013,
                     "--out", str(tmp_path / "strict"), "--max-drop", f"{report['drop_pp'] - 0.5:.2f}")
    assert strict.returncode == 1, strict.stdout


def test_parity_fails_a_model_calibrated_on_blank_images(tiny_run, tiny_tflite, mini_fer2013, tmp_path):
    from edgefer.convert.quantize import convert
    from edgefer.training.model import export_model, load_model

    metadata = read_metadata(tiny_tflite["int8"])
    model = export_model(load_model(os.path.join(tiny_run, "model.keras")), metadata.backbone)
    blank = np.zeros((16, 48, 48), np.uint8)
    broken = tmp_path / "broken_int8.tflite"
    broken.write_bytes(with_metadata(convert(model, "int8", blank, "int8", metadata.normalisation), metadata))
    result = edgefer("parity", tiny_tflite["float32"], str(broken), "--data", mini_fer2013, "--out", str(tmp_path / "p"))
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    assert json.load(open(tmp_path / "p" / "report.json"))["drop_pp"] > 1.0


def test_parity_bad_inputs(tiny_tflite, mini_fer2013, tmp_path):
    not_tflite = tmp_path / "notes.tflite"
    not_tflite.write_text("not a model")
    other_labels = tmp_path / "other_int8.tflite"
    metadata = replace(read_metadata(tiny_tflite["int8"]), labels=("a", "b", "c", "d", "e", "f", "g"))
    with open(tiny_tflite["int8"], "rb") as f:
        flatbuffer = f.read()
    other_labels.write_bytes(with_metadata(flatbuffer, metadata))  # a second archive: the last one wins
    cases = [
        (str(tmp_path / "missing.tflite"), "model file not found"),
        (str(not_tflite), "not a TFLite model"),
        (str(other_labels), "differ from"),
    ]
    for quant, fragment in cases:
        result = edgefer("parity", tiny_tflite["float32"], quant, "--data", mini_fer2013, "--out", str(tmp_path / "p"))
        assert_one_line_error(result, fragment)


def reversed_member(tiny_run, folder, labels=None):
    """A second run beside ``tiny_run``: the same network with its output classes' weights in
    reverse order (so its predictions differ), or with other ``labels`` in its config."""
    from edgefer.training.model import load_model

    os.makedirs(folder)
    config = json.load(open(os.path.join(tiny_run, "config.json")))
    json.dump({**config, "labels": labels or config["labels"]}, open(os.path.join(folder, "config.json"), "w"))
    model = load_model(os.path.join(tiny_run, "model.keras"))
    dense = model.get_layer("emotion")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel[:, ::-1], bias[::-1]])
    model.save(os.path.join(folder, "model.keras"))
    return folder


def test_an_ensemble_file_averages_its_members(tiny_run, tiny_tflite, mini_fer2013, tmp_path):
    member = reversed_member(tiny_run, str(tmp_path / "member"))
    common = ("--data", mini_fer2013, "--calibration", tiny_tflite["manifest"], "--out", str(tmp_path), "--modes")
    alone = edgefer("quantize", member, *common, "float32")
    assert alone.returncode == 0, alone.stderr[-3000:]
    both = edgefer("quantize", tiny_run, "--with", member, *common, "float32,int8", "--name", "ensemble")
    assert both.returncode == 0, both.stderr[-3000:]
    faces = load_dataset(mini_fer2013, ("test",)).splits["test"].images[:100]
    singles = [Classifier(path).predict(faces) for path in (tiny_tflite["float32"], str(tmp_path / "member_float32.tflite"))]
    ensemble = Classifier(str(tmp_path / "ensemble_float32.tflite")).predict(faces)
    assert (singles[0].argmax(1) != singles[1].argmax(1)).mean() > 0.5  # the members disagree
    assert np.abs(ensemble - (singles[0] + singles[1]) / 2).max() < 1e-4
    int8 = Classifier(str(tmp_path / "ensemble_int8.tflite")).predict(faces)
    assert np.abs(int8 - ensemble).mean() < 0.05
    members = read_metadata(str(tmp_path / "ensemble_int8.tflite")).members
    assert [(m["run"], m["image_size"]) for m in members] == [("tiny", 64), ("member", 64)]


def test_mirrored_members_see_the_mirror_image(tiny_run, tiny_tflite, mini_fer2013, tmp_path):
    member = reversed_member(tiny_run, str(tmp_path / "member"))
    common = ("--data", mini_fer2013, "--calibration", tiny_tflite["manifest"], "--out", str(tmp_path), "--modes")
    for args in ((member, *common, "float32"), (tiny_run, "--with", member, "--mirror-members", *common, "float32",
                                                "--name", "pair")):
        result = edgefer("quantize", *args)
        assert result.returncode == 0, result.stderr[-3000:]
    faces = load_dataset(mini_fer2013, ("test",)).splits["test"].images[:100]
    mirrored = np.ascontiguousarray(faces[:, :, ::-1])
    main_on_face = Classifier(tiny_tflite["float32"]).predict(faces)
    member_on_mirror = Classifier(str(tmp_path / "member_float32.tflite")).predict(mirrored)
    pair = Classifier(str(tmp_path / "pair_float32.tflite"))
    assert np.abs(pair.predict(faces) - (main_on_face + member_on_mirror) / 2).max() < 1e-4
    assert np.abs(pair.predict(mirrored) - pair.predict(faces)).max() > 1e-3  # not symmetric, unlike a flip average
    assert read_metadata(str(tmp_path / "pair_float32.tflite")).mirror_members is True


def test_a_member_with_other_labels_is_refused_before_writing(tiny_run, tiny_tflite, mini_fer2013, tmp_path):
    member = reversed_member(tiny_run, str(tmp_path / "member"), labels=list("abcdefg"))
    out = tmp_path / "out"
    out.mkdir()
    result = edgefer("quantize", tiny_run, "--with", member, "--data", mini_fer2013, "--calibration",
                     tiny_tflite["manifest"], "--out", str(out))
    assert_one_line_error(result, "member labels")
    assert list(out.iterdir()) == []


def test_the_flip_average_and_its_zoomed_view_are_built_into_the_file(tiny_run, tiny_tflite, mini_fer2013, tmp_path):
    common = ("--data", mini_fer2013, "--calibration", tiny_tflite["manifest"], "--out", str(tmp_path),
              "--modes", "float32", "--flip-average")
    for name, extra in (("flip", ()), ("zoom", ("--zoom-crop", "2"))):
        result = edgefer("quantize", tiny_run, *common, "--name", name, *extra)
        assert result.returncode == 0, result.stderr[-3000:]
    faces = load_dataset(mini_fer2013, ("test",)).splits["test"].images[:100]
    plain, flip, zoom = (Classifier(path) for path in (tiny_tflite["float32"], str(tmp_path / "flip_float32.tflite"),
                                                        str(tmp_path / "zoom_float32.tflite")))
    half_mirrored = plain.predict(np.ascontiguousarray(faces[:, :, ::-1])) / 2
    assert np.abs(flip.predict(faces) - plain.predict(faces) / 2 - half_mirrored).max() < 1e-4
    # the unmirrored pass of the zoomed file sees only the face without its 2-pixel border
    reframed = faces.copy()
    reframed[:, :2], reframed[:, -2:], reframed[:, :, :2], reframed[:, :, -2:] = 0, 255, 255, 0
    zoomed_pass = zoom.predict(faces) - half_mirrored
    zoomed_pass_reframed = zoom.predict(reframed) - plain.predict(np.ascontiguousarray(reframed[:, :, ::-1])) / 2
    assert np.abs(zoomed_pass - zoomed_pass_reframed).max() < 1e-4
    assert np.abs(zoomed_pass * 2 - plain.predict(faces)).max() > 1e-3  # and it is not the plain pass
    assert read_metadata(str(tmp_path / "zoom_float32.tflite")).zoom_crop == 2


def test_every_quantized_file_carries_the_crop_geometry_again_and_again(tiny_run, tiny_tflite, mini_fer2013, tmp_path):
    common = ("--data", mini_fer2013, "--calibration", tiny_tflite["manifest"], "--modes", "float32,int8")
    fer2013 = read_json(FER2013_GEOMETRY)["crop"]
    for again in ("first", "second"):
        out = tmp_path / again
        out.mkdir()
        result = edgefer("quantize", tiny_run, *common, "--out", str(out), "--name", "again")
        assert result.returncode == 0, result.stderr[-3000:]
        for mode in ("float32", "int8"):
            crop = read_metadata(str(out / f"again_{mode}.tflite")).crop
            assert {name: g.to_metadata() for name, g in crop.items()} == fer2013
    own = {"crop": {"blazeface": {"detector": "blazeface", "box_size": 0.7, "centre": [0.5, 0.55], "align": True}}}
    (tmp_path / "own.json").write_text(json.dumps(own))
    result = edgefer("quantize", tiny_run, *common, "--out", str(tmp_path), "--name", "own", "--geometry",
                     str(tmp_path / "own.json"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_metadata(str(tmp_path / "own_int8.tflite")).crop["blazeface"].box_size == 0.7


@pytest.mark.parametrize("content", ['{"box_size": 0.8}', "[1, 2]", '{"crop": "wide"}', "not json"])
def test_a_bad_geometry_file_is_refused_before_anything_is_written(tiny_run, tiny_tflite, mini_fer2013, tmp_path, content):
    (tmp_path / "g.json").write_text(content)
    out = tmp_path / "out"
    out.mkdir()
    result = edgefer("quantize", tiny_run, "--data", mini_fer2013, "--calibration", tiny_tflite["manifest"],
                     "--out", str(out), "--geometry", str(tmp_path / "g.json"))
    assert_one_line_error(result, "g.json")
    assert os.listdir(out) == []


def test_quantize_writes_the_interop_file_beside_the_float32_file(tiny_run, tiny_tflite, mini_fer2013, tmp_path):
    from edgefer.device.runtime import make_interpreter

    common = ("--data", mini_fer2013, "--calibration", tiny_tflite["manifest"], "--out", str(tmp_path), "--name", "tiny")
    refused = edgefer("quantize", tiny_run, *common, "--modes", "int8", "--interop", "mediapipe")
    assert_one_line_error(refused, "add float32 to --modes")
    assert os.listdir(tmp_path) == []
    result = edgefer("quantize", tiny_run, *common, "--modes", "float32", "--interop", "mediapipe")
    assert result.returncode == 0, result.stderr[-3000:]
    interpreter, _ = make_interpreter(str(tmp_path / "tiny_mediapipe.tflite"))
    image, scores = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    assert tuple(image["shape"]) == (1, 48, 48, 3)
    faces = load_dataset(mini_fer2013, ("test",)).splits["test"].images[:20]
    twin = Classifier(str(tmp_path / "tiny_float32.tflite"))
    for face, expected in zip(faces, twin.predict(faces)):
        rgb = (np.stack([face] * 3, axis=-1).astype(np.float32) - twin.normalisation.mean) / twin.normalisation.scale
        interpreter.set_tensor(image["index"], rgb[None])
        interpreter.invoke()
        assert np.abs(interpreter.get_tensor(scores["index"])[0] - expected).max() < 1e-5


def test_an_interrupted_quantize_leaves_no_half_made_folder(tiny_run, tiny_tflite, mini_fer2013, tmp_path):
    import signal
    import subprocess
    import sys

    from helpers import CLEAN_ENV, REPO

    out = tmp_path / "new"
    process = subprocess.Popen([sys.executable, "-m", "edgefer", "quantize", tiny_run, "--data", mini_fer2013,
                                "--calibration", tiny_tflite["manifest"], "--out", str(out), "--modes", "float32,int8"],
                               stderr=subprocess.PIPE, text=True, cwd=REPO, env=CLEAN_ENV)
    for line in process.stderr:
        if line.startswith("converting int8"):  # the float32 file is written by now
            break
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=300)
    assert process.returncode == 130
    assert not out.exists()
