"""Model conversion: a trained run to TFLite files (float32, float16, dynamic, int8) with their
metadata, and Edge TPU compilation.

Imports: ``edgefer.training`` and the layers below it, and TensorFlow.
"""
