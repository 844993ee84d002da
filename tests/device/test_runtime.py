import numpy as np
import pytest
from helpers import TINY_FLOAT, TINY_INT8, make_face

from edgefer.core.errors import EdgeferError
from edgefer.core.metadata import Normalisation
from edgefer.device.runtime import Classifier, make_interpreter, normalise

NORMALISATION = Normalisation(mean=127.0, scale=128.0)


def test_normalise_maps_pixels_as_the_metadata_says():
    assert normalise([0, 127, 255], NORMALISATION).tolist() == pytest.approx([-127 / 128, 0.0, 1.0])


def test_int8_input_is_quantized_with_the_files_own_scale_and_zero_point():
    model = Classifier(TINY_INT8)
    scale, zero = model.input["quantization"]
    assert model.input["dtype"] == np.int8 and scale > 0
    faces = np.array([[[0, 127, 255] + [127] * 45] * 48], np.uint8)
    q = model.quantize_input(faces)
    expected = np.clip(np.round(normalise(faces, NORMALISATION) / scale + zero), -128, 127)
    assert q.dtype == np.int8 and np.array_equal(q[..., 0], expected)
    assert q[0, 0, 1, 0] == zero  # pixel 127 normalises to 0, which is the zero point


def test_int8_output_is_dequantized_to_probabilities():
    model = Classifier(TINY_INT8)
    scale, zero = model.output["quantization"]
    raw = np.array([zero, zero + 10, 127], np.int8)
    assert model._dequantize(raw).tolist() == pytest.approx([0.0, 10 * scale, (127 - zero) * scale])


@pytest.mark.parametrize("path", [TINY_FLOAT, TINY_INT8])
def test_tiny_models_label_generated_faces_by_their_stripe(path):
    rng = np.random.default_rng(3)
    faces = np.stack([make_face(rng, c) for c in range(7) for _ in range(4)])
    probs = Classifier(path).predict(faces)
    assert probs.shape == (28, 7)
    assert probs.argmax(1).tolist() == np.repeat(np.arange(7), 4).tolist()
    assert np.allclose(probs.sum(1), 1.0, atol=0.02)


def test_float_and_int8_tiny_models_agree_closely():
    rng = np.random.default_rng(4)
    faces = np.stack([make_face(rng, c % 7) for c in range(21)])
    assert np.abs(Classifier(TINY_FLOAT).predict(faces) - Classifier(TINY_INT8).predict(faces)).max() < 0.05


@pytest.mark.parametrize("content, fragment", [
    (None, "model file not found"),
    (b"hello", "not a TFLite model"),
    (b"\x1c\x00\x00\x00TFL3" + b"\x00" * 64, "cannot be loaded"),
])
def test_bad_model_files_give_one_line_errors(tmp_path, content, fragment):
    path = tmp_path / "m.tflite"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(EdgeferError, match=fragment):
        make_interpreter(str(path))
