"""The training host: the backbone registry, offline ImageNet weights, the paper's model, the
distribution strategy, the int8 weight grid, training, int8-aware fine-tuning and run folders.

Imports: every layer below it and TensorFlow, Keras and kimm (inside the modules that need
them: ``backbones`` and ``runs`` stay importable without TensorFlow, for the CLI).
"""
