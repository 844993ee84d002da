import os

import cv2
import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow
import skimage.data  # noqa: E402

from edgefer.core.errors import EdgeferError  # noqa: E402
from edgefer.training.backbones import get_backbone  # noqa: E402
from edgefer.training.model import _pth_path, build_classifier, imagenet_classifier, load_model  # noqa: E402
from edgefer.training.pth import load_state_dict  # noqa: E402


def test_pth_reader_returns_the_state_dict_without_torch():
    state = load_state_dict(_pth_path(get_backbone("efficientnet-lite0")))
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_conv_stem.weight"].dtype == np.float32
    assert np.isfinite(state["_fc.weight"]).all()


@pytest.mark.parametrize("name", ["efficientnet-lite0", "efficientnet-lite2"])
def test_ported_imagenet_weights_label_photos(name):
    model = imagenet_classifier(name, 224)
    for photo, imagenet_class in (("chelsea", 285), ("coffee", 967)):  # Egyptian cat, espresso
        image = cv2.resize(getattr(skimage.data, photo)(), (224, 224), interpolation=cv2.INTER_AREA)
        x = (image.astype(np.float32) - 127.0) / 128.0
        probs = model.predict(x[None], verbose=0)[0]
        assert int(probs.argmax()) == imagenet_class, (photo, int(probs.argmax()))


def test_head_matches_the_paper_layer_by_layer():
    model = build_classifier("efficientnet-lite0", list("abcdefg"), weights="none")
    head = [layer for layer in model.layers if layer.name.startswith("head_") or layer.name == "emotion"]
    conv, pool, dense, dropout, out = head
    assert type(conv).__name__ == "Conv2D" and conv.filters == 128 and conv.kernel_size == (3, 3)
    assert conv.padding == "same" and conv.activation.__name__ == "relu"
    assert type(pool).__name__ == "GlobalAveragePooling2D"
    assert type(dense).__name__ == "Dense" and dense.units == 128 and dense.activation.__name__ == "relu"
    assert type(dropout).__name__ == "Dropout" and dropout.rate == 0.3
    assert out.units == 7 and out.activation.__name__ == "softmax"
    assert model.input_shape == (None, 48, 48, 1) and model.output_shape == (None, 7)


def test_head_kernel_one_is_a_pointwise_head_convolution():
    model = build_classifier("efficientnet-lite0", list("abcdefg"), weights="none", image_size=48, head_kernel=1)
    conv = model.get_layer("head_conv")
    assert conv.kernel_size == (1, 1) and conv.filters == 128 and conv.kernel.shape == (1, 1, 1280, 128)
    assert model.output_shape == (None, 7)


def test_a_trained_runs_backbone_starts_a_run_at_another_size_and_head(tiny_run):
    trained = load_model(os.path.join(tiny_run, "model.keras")).get_layer("backbone").get_weights()
    model = build_classifier("efficientnet-lite0", list("abcdefg"), weights=tiny_run, image_size=48, head_kernel=1)
    started = model.get_layer("backbone").get_weights()
    assert len(started) == len(trained) and all(np.array_equal(a, b) for a, b in zip(started, trained))
    imagenet = build_classifier("efficientnet-lite0", list("abcdefg"), image_size=48).get_layer("backbone")
    assert not np.array_equal(imagenet.get_weights()[0], started[0])
    with pytest.raises(EdgeferError, match="its backbone is efficientnet-lite0, not efficientnet-lite2"):
        build_classifier("efficientnet-lite2", list("abcdefg"), weights=tiny_run, image_size=48)


def test_stages_cut_the_backbone_after_its_fifth_stage():
    model = build_classifier("efficientnet-lite0", list("abcdefg"), weights="none", image_size=64, head_kernel=1, stages=5)
    backbone = model.get_layer("backbone")
    assert backbone.output.shape[1:] == (4, 4, 112)  # stage 5 of Lite0: 112 channels at stride 16
    assert not [layer.name for layer in backbone.layers if layer.name.startswith(("blocks_5_", "blocks_6_", "conv_head"))]
    assert model.get_layer("head_conv").kernel.shape == (1, 1, 112, 128)
    whole = build_classifier("efficientnet-lite0", list("abcdefg"), weights="none", image_size=64, head_kernel=1)
    assert model.count_params() < whole.count_params() / 4


def test_a_cut_backbone_starts_from_the_same_layers_of_a_whole_trained_run(tiny_run):
    trained = load_model(os.path.join(tiny_run, "model.keras")).get_layer("backbone")
    model = build_classifier("efficientnet-lite0", list("abcdefg"), weights=tiny_run, image_size=64, stages=4)
    kept = [layer for layer in model.get_layer("backbone").layers if layer.weights]
    assert kept and any(layer.name.startswith("blocks_3_") for layer in kept)
    for layer in kept:
        assert all(np.array_equal(a, b) for a, b in zip(layer.get_weights(), trained.get_layer(layer.name).get_weights()))


def test_stages_refuse_a_backbone_that_cannot_be_cut():
    with pytest.raises(EdgeferError, match="cut after 1 to 6 stages of an EfficientNet-Lite only"):
        build_classifier("efficientnet-b2", list("abcdefg"), weights="none", image_size=64, stages=5)


def test_b2_without_network_fails_with_one_clear_line(tmp_path):
    from helpers import assert_one_line_error, edgefer, write_kaggle_folders

    data = write_kaggle_folders(str(tmp_path / "fer2013"))
    cache = tmp_path / "keras-home"  # an empty Keras cache: the weights must be downloaded
    result = edgefer("train", data, "--out", str(tmp_path / "run"), "--backbone", "efficientnet-b2",
                     "--weights", "imagenet", "--epochs", "1",
                     env={"KERAS_HOME": str(cache), "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"})
    assert_one_line_error(result, "could not download the ImageNet weights of efficientnet-b2")
    assert not os.path.exists(tmp_path / "run" / "model.keras")
