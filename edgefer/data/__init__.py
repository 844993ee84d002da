"""Datasets on disk: FER2013 (CSV or image folders) and FER+ loaded into one shape, calibration
manifests, and ``edgefer data inspect``.

Imports: ``edgefer.core``, numpy and OpenCV; never TensorFlow, Keras or kimm.
"""
