"""Standard TFLite Model Metadata: the ``TFLITE_METADATA`` entry (schema ``M001``) beside
edgefer's own metadata, so that MediaPipe Tasks, Netron, Android Studio and LiteRT's metadata
readers see the model's name, labels and normalisation.

The metadata flatbuffer is built with the ``flatbuffers`` package, table by table, with the
field slots of the TFLite metadata schema (``metadata_schema.fbs``); it is put into the model's
``metadata`` list with TensorFlow's generated TFLite schema. The labels file it names is the
``labels.txt`` that edgefer's archive appended to the model already holds (stored, as TFLite's
metadata readers require). The device never reads this entry: it keeps reading edgefer's own.
"""

from importlib import metadata as package_metadata
from typing import List, Sequence

import flatbuffers
import numpy as np
from tensorflow.lite.python import schema_py_generated as tflite_schema

from edgefer.core.metadata import ModelMetadata
from edgefer.data import FER2013_FACE_DATASETS

METADATA_FIELD = "TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
MODEL_IDENTIFIER = b"TFL3"
MIN_PARSER_VERSION = "1.0.0"  # every table used here is in the schema's first version
LABELS_FILE = "labels.txt"
LICENSE = "Apache-2.0"
# enum and union values of metadata_schema.fbs
TENSOR_AXIS_LABELS = 2
RGB, GRAYSCALE = 1, 2
FEATURE_PROPERTIES, IMAGE_PROPERTIES = 1, 2
NORMALIZATION_OPTIONS = 1


class _Tables:
    """Writes the schema's tables into one flatbuffers builder, children before parents."""

    def __init__(self):
        self.b = flatbuffers.Builder(1024)

    def _table(self, slots: int, offsets=(), bytes_=(), uints=()):
        """A table of ``slots`` fields: (slot, offset) for strings, vectors and tables, (slot,
        value) for byte and uint fields."""
        self.b.StartObject(slots)
        for slot, value in offsets:
            self.b.PrependUOffsetTRelativeSlot(slot, value, 0)
        for slot, value in uints:
            self.b.PrependUint32Slot(slot, value, 0)
        for slot, value in bytes_:
            self.b.PrependUint8Slot(slot, value, 0)
        return self.b.EndObject()

    def text(self, value: str):
        return self.b.CreateString(value)

    def tables(self, offsets: List[int]):
        self.b.StartVector(4, len(offsets), 4)
        for offset in reversed(offsets):
            self.b.PrependUOffsetTRelative(offset)
        return self.b.EndVector()

    def floats(self, values: Sequence[float]):
        self.b.StartVector(4, len(values), 4)
        for value in reversed(values):
            self.b.PrependFloat32(float(value))
        return self.b.EndVector()

    def labels_file(self):
        name, description = self.text(LABELS_FILE), self.text("The label of each output score, one a line.")
        return self._table(5, offsets=[(0, name), (1, description)], bytes_=[(2, TENSOR_AXIS_LABELS)])

    def image_input(self, metadata: ModelMetadata, channels: int):
        size = self._table(2, uints=[(0, metadata.face_size), (1, metadata.face_size)])
        properties = self._table(2, offsets=[(1, size)], bytes_=[(0, RGB if channels == 3 else GRAYSCALE)])
        content = self._table(3, offsets=[(1, properties)], bytes_=[(0, IMAGE_PROPERTIES)])
        mean, scale = metadata.normalisation.mean, metadata.normalisation.scale
        norm = self._table(2, offsets=[(0, self.floats([mean] * channels)), (1, self.floats([scale] * channels))])
        unit = self._table(2, offsets=[(1, norm)], bytes_=[(0, NORMALIZATION_OPTIONS)])
        low, high = metadata.normalisation.input_range
        stats = self._table(2, offsets=[(0, self.floats([(high - mean) / scale] * channels)),
                                        (1, self.floats([(low - mean) / scale] * channels))])
        description = (f"A face, {metadata.face_size}x{metadata.face_size} pixels, "
                       f"{'colour (RGB)' if channels == 3 else 'grey'}, pixel values 0-255 normalised as "
                       f"(x - {mean:g}) / {scale:g}; cut the way the model's crop geometry (edgefer.json) says.")
        return self._table(7, offsets=[(0, self.text("image")), (1, self.text(description)), (3, content),
                                       (4, self.tables([unit])), (5, stats)])

    def score_output(self):
        content = self._table(3, offsets=[(1, self._table(0))], bytes_=[(0, FEATURE_PROPERTIES)])
        stats = self._table(2, offsets=[(0, self.floats([1.0])), (1, self.floats([0.0]))])
        return self._table(7, offsets=[(0, self.text("probability")),
                                       (1, self.text("The probability of each emotion (labels.txt), summing to 1.")),
                                       (3, content), (5, stats), (6, self.tables([self.labels_file()]))])

    def model(self, metadata: ModelMetadata, name: str, channels: int) -> bytes:
        subgraph = self._table(10, offsets=[(2, self.tables([self.image_input(metadata, channels)])),
                                            (3, self.tables([self.score_output()]))])
        root = self._table(8, offsets=[
            (0, self.text(name)), (1, self.text(description(metadata))), (2, self.text(version())),
            (3, self.tables([subgraph])), (4, self.text("edgefer")), (5, self.text(licence(metadata))),
            (7, self.text(MIN_PARSER_VERSION))])
        self.b.Finish(root, file_identifier=METADATA_IDENTIFIER)
        return bytes(self.b.Output())


def licence(metadata: ModelMetadata) -> str:
    if metadata.dataset in FER2013_FACE_DATASETS:  # for research use: their weights say so
        return f"{LICENSE} (the weights learned from {metadata.dataset}, which is for research use)"
    return LICENSE


def version() -> str:
    try:
        return f"edgefer {package_metadata.version('edgefer')}"
    except package_metadata.PackageNotFoundError:
        return "edgefer"


def description(metadata: ModelMetadata) -> str:
    return (f"Facial emotion recognition: {len(metadata.labels)} emotions ({', '.join(metadata.labels)}) "
            f"from one face, {metadata.backbone or 'a network'} trained on {metadata.dataset or 'unknown data'}; "
            f"{metadata.mode or 'float32'} file.")


def metadata_flatbuffer(metadata: ModelMetadata, name: str, channels: int = 1) -> bytes:
    """The TFLite metadata (``M001``) for a model described by ``metadata``, called ``name``,
    whose input image has ``channels`` channels."""
    return _Tables().model(metadata, name, channels)


def unpacked(flatbuffer: bytes) -> tflite_schema.ModelT:
    """A TFLite model as objects that can be changed."""
    return tflite_schema.ModelT.InitFromObj(tflite_schema.Model.GetRootAs(flatbuffer, 0))


def packed(model: tflite_schema.ModelT) -> bytes:
    """The TFLite flatbuffer of ``model``."""
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=MODEL_IDENTIFIER)
    return bytes(builder.Output())


def with_standard_metadata(flatbuffer: bytes, metadata: ModelMetadata, name: str) -> bytes:
    """``flatbuffer`` (a TFLite model) with its ``TFLITE_METADATA`` entry set; the graph, its
    weights and every other metadata entry are kept as they are."""
    model = unpacked(flatbuffer)
    set_standard_metadata(model, metadata, name)
    return packed(model)


def set_standard_metadata(model: tflite_schema.ModelT, metadata: ModelMetadata, name: str) -> None:
    """Set ``model``'s ``TFLITE_METADATA`` entry (added, or replaced where it has one)."""
    channels = int(model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]].shape[-1])
    data = np.frombuffer(metadata_flatbuffer(metadata, name, channels), np.uint8)
    entry = next((m for m in model.metadata or [] if _text(m.name) == METADATA_FIELD), None)
    if entry is None:
        model.buffers.append(tflite_schema.BufferT())
        entry = tflite_schema.MetadataT()
        entry.name, entry.buffer = METADATA_FIELD, len(model.buffers) - 1
        model.metadata = (model.metadata or []) + [entry]
    model.buffers[entry.buffer].data = data


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
