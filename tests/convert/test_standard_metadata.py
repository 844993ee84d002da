"""Standard TFLite Model Metadata, read back with MediaPipe's own generated metadata schema."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from helpers import TINY_FLOAT  # noqa: E402
from tensorflow.lite.python.schema_py_generated import Model  # noqa: E402

from edgefer.convert.standard_metadata import with_standard_metadata  # noqa: E402
from edgefer.core.metadata import flatbuffer_bytes, read_metadata, with_metadata  # noqa: E402
from edgefer.device.bundled import bundled_models  # noqa: E402
from edgefer.device.runtime import Classifier  # noqa: E402


def standard_metadata(path):
    """The TFLITE_METADATA table of the model file at ``path``, as MediaPipe's generated code reads it."""
    schema = pytest.importorskip("mediapipe.tasks.metadata.metadata_schema_py_generated",
                                 reason="mediapipe (its metadata schema) is not installed")
    from mediapipe.tasks.metadata import schema_py_generated as model_schema

    model = model_schema.Model.GetRootAs(flatbuffer_bytes(path), 0)
    entries = {model.Metadata(i).Name().decode(): model.Metadata(i).Buffer() for i in range(model.MetadataLength())}
    data = model.Buffers(entries["TFLITE_METADATA"]).DataAsNumpy().tobytes()
    assert schema.ModelMetadata.ModelMetadataBufferHasIdentifier(data, 0)
    return schema.ModelMetadataT.InitFromObj(schema.ModelMetadata.GetRootAs(data, 0))


@pytest.mark.parametrize("model", bundled_models(), ids=lambda m: m["name"])
def test_every_bundled_file_carries_standard_metadata(model):
    table = standard_metadata(model["path"])
    assert table.name.decode() == model["name"] and table.author == b"edgefer" and table.minParserVersion == b"1.0.0"
    image = table.subgraphMetadata[0].inputTensorMetadata[0]
    properties = image.content.contentProperties
    assert (properties.colorSpace, properties.defaultSize.width, properties.defaultSize.height) == (2, 48, 48)  # GRAYSCALE
    norm = image.processUnits[0].options
    ours = read_metadata(model["path"]).normalisation
    assert (list(norm.mean), list(norm.std)) == ([ours.mean], [ours.scale])
    scores = table.subgraphMetadata[0].outputTensorMetadata[0]
    labels = scores.associatedFiles[0]
    assert (labels.name, labels.type) == (b"labels.txt", 2)  # TENSOR_AXIS_LABELS, the file in the appended archive
    assert (list(scores.stats.min), list(scores.stats.max)) == ([0.0], [1.0])


def test_standard_metadata_changes_no_output(tmp_path):
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (20, 48, 48)).astype(np.uint8)
    metadata = read_metadata(TINY_FLOAT)
    path = tmp_path / "tiny.tflite"
    path.write_bytes(with_metadata(with_standard_metadata(flatbuffer_bytes(TINY_FLOAT), metadata, "tiny"), metadata))
    assert np.array_equal(Classifier(str(path)).predict(faces), Classifier(TINY_FLOAT).predict(faces))
    again = tmp_path / "again.tflite"  # written twice: one entry, replaced
    again.write_bytes(with_metadata(with_standard_metadata(flatbuffer_bytes(str(path)), metadata, "tiny2"), metadata))
    assert standard_metadata(str(again)).name == b"tiny2"
    first, second = (Model.GetRootAs(flatbuffer_bytes(str(p)), 0) for p in (path, again))
    assert second.BuffersLength() == first.BuffersLength()
    assert [second.Metadata(i).Name() for i in range(second.MetadataLength())].count(b"TFLITE_METADATA") == 1
