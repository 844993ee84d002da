"""What runs on the device: the TFLite interpreter and classifier, face detection and crops,
tracking, the frame pipeline, frame sources, annotation, the live run, benchmarks, device
profiles and the bundled models (package data in ``models/``, ``profile_files/``, ``samples/``).

Imports: ``edgefer.core``, numpy, OpenCV and a TFLite interpreter (LiteRT or tflite-runtime);
never TensorFlow, Keras or kimm, so it installs on a Raspberry Pi with the ``device`` extra.
"""
