"""Datasets on disk: FER2013 (CSV or image folders), FER+ and prepared datasets of your own loaded
into one shape, ``edgefer data prepare``, calibration manifests, and ``edgefer data inspect``.

Imports: ``edgefer.core``, ``edgefer.device`` (``data prepare`` cuts faces with the device's face
stage), numpy and OpenCV; never TensorFlow, Keras or kimm.
"""

import os

FER2013_FACE_DATASETS = ("fer2013", "ferplus")  # FER+ relabels FER2013's faces: the same framing, research use
FER2013_GEOMETRY = os.path.join(os.path.dirname(__file__), "fer2013-crop-geometry.json")
"""Where the BlazeFace detectors frame FER2013's faces (``edgefer framing fit``): the crop of
every model trained on FER2013's or FER+'s faces."""
