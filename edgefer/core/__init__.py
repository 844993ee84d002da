"""The ground every other layer stands on: the face/model spec (face size, split names, file
extensions, label checks), errors, atomic file writes, progress bars, classification metrics,
plots and the metadata carried inside model files.

Imports: the standard library, numpy, matplotlib and tqdm only; never another edgefer layer,
never TensorFlow, Keras or kimm.
"""
