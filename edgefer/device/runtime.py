"""Device runtime: load a TFLite model with the lightest interpreter available and classify faces.

Interpreters, in order: ``ai-edge-litert`` (LiteRT), ``tflite-runtime``, ``tensorflow.lite``.
Never imports TensorFlow unless the first two are missing.
"""

import importlib
import os
import platform

import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.core.metadata import Normalisation, read_metadata

EDGETPU_LIBRARY = "libedgetpu.so.1"
_INTERPRETER_MODULES = ("ai_edge_litert.interpreter", "tflite_runtime.interpreter", "tensorflow.lite")


def interpreter_module():
    """Return (module, name) of the first importable TFLite interpreter."""
    for name in _INTERPRETER_MODULES:
        try:
            return importlib.import_module(name), name.split(".")[0]
        except ImportError:
            continue
    raise EdgeferError(f"no TFLite interpreter found on {platform.system()} {platform.machine()}: pip install "
                       "'edgefer[device]' (LiteRT has wheels for Linux x86-64 and aarch64, macOS on Apple silicon and "
                       "Windows x86-64), or tflite-runtime where LiteRT has none")


def make_interpreter(model_path, delegate=None, threads=None):
    """A ready ``Interpreter`` for ``model_path``. ``delegate='edgetpu'`` (or a model file named
    ``*_edgetpu.tflite``) loads the Edge TPU delegate. Returns (interpreter, runtime name)."""
    if not os.path.exists(model_path):
        raise EdgeferError(f"{model_path}: model file not found")
    if os.path.isdir(model_path):
        raise EdgeferError(f"{model_path}: is a folder, not a .tflite model file")
    with open(model_path, "rb") as f:
        header = f.read(8)
    if len(header) < 8 or header[4:8] != b"TFL3":
        raise EdgeferError(f"{model_path}: not a TFLite model (no TFL3 identifier)")
    module, runtime = interpreter_module()
    delegates = []
    if delegate == "edgetpu" or model_path.endswith("_edgetpu.tflite"):
        try:
            delegates.append(module.load_delegate(EDGETPU_LIBRARY))
        except (ValueError, OSError) as exc:
            raise EdgeferError(f"Edge TPU delegate {EDGETPU_LIBRARY} could not be loaded ({exc}); "
                               "install libedgetpu1-std and plug in the accelerator") from None
    try:
        interpreter = module.Interpreter(model_path=model_path, experimental_delegates=delegates or None,
                                         num_threads=threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise EdgeferError(f"{model_path}: cannot be loaded ({str(exc).splitlines()[0]})") from None
    return interpreter, runtime + ("+edgetpu" if delegates else "")


def normalise(faces, normalisation: Normalisation):
    """Pixels in [0, 255] -> the model's input values, ``(x - mean) / scale``."""
    return (np.asarray(faces, dtype=np.float32) - normalisation.mean) / normalisation.scale


class Classifier:
    """A TFLite emotion model: faces in (48x48 grey for the bundled models; a prepared dataset's
    model says its side and colour), class probabilities out.

    Faces are normalised as the metadata inside the file says, then quantized with the model's
    own input parameters; outputs are dequantized the same way. Labels and input size come
    from the metadata too.
    """

    def __init__(self, model_path, delegate=None, threads=None):
        self.path = model_path
        self.interpreter, self.runtime = make_interpreter(model_path, delegate, threads)
        self.metadata = read_metadata(model_path)
        if self.metadata.interop:
            raise EdgeferError(f"{model_path}: is made for {self.metadata.interop} (colour input); "
                               "edgefer runs the int8 or float32 file it was made from")
        self.labels = list(self.metadata.labels)
        self.face_size = self.metadata.face_size
        self.color = self.metadata.color
        self.normalisation = self.metadata.normalisation
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        expected = (self.face_size, self.face_size, 3 if self.color == "rgb" else 1)
        if tuple(self.input["shape"][1:]) != expected:
            shape = tuple(int(v) for v in self.input["shape"])
            raise EdgeferError(f"{model_path}: input shape {shape} is not {(1, *expected)}")
        if self.output["shape"][-1] != len(self.labels):
            raise EdgeferError(f"{model_path}: {self.output['shape'][-1]} outputs but {len(self.labels)} labels")

    def quantize_input(self, faces):
        """uint8 faces as the input tensor takes them: normalised, then quantized with its own parameters."""
        x = normalise(faces, self.normalisation)
        x = x[..., None] if self.color != "rgb" else x
        dtype = self.input["dtype"]
        if dtype == np.float32:
            return x
        scale, zero = self.input["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)

    def _dequantize(self, y):
        if self.output["dtype"] == np.float32:
            return y.astype(np.float32)
        scale, zero = self.output["quantization"]
        return (y.astype(np.float32) - zero) * scale

    def predict(self, faces):
        """Probabilities (N, classes) for uint8 faces (N, S, S) grey or (N, S, S, 3) RGB, one invoke each."""
        faces = np.asarray(faces)
        if faces.ndim == (3 if self.color == "rgb" else 2):
            faces = faces[None]
        x = self.quantize_input(faces)
        out = np.zeros((len(faces), len(self.labels)), np.float32)
        for i in range(len(faces)):
            self.interpreter.set_tensor(self.input["index"], x[i: i + 1])
            self.interpreter.invoke()
            out[i] = self._dequantize(self.interpreter.get_tensor(self.output["index"])[0])
        return out

    @property
    def size_bytes(self):
        return os.path.getsize(self.path)
