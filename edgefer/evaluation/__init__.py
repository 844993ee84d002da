"""Judging models: float/int8 parity reports, TFLite op reports and metric reports for a split.

Imports: ``edgefer.core``, ``edgefer.data`` and ``edgefer.device`` (models run on the device
runtime); never TensorFlow, Keras or kimm, so parity runs on the device too.
"""
