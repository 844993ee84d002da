"""Read a PyTorch ``.pth`` state dict into numpy arrays without importing torch.

Both of torch's file formats are handled: the zip archive (torch >= 1.6) and the older
"legacy" stream of pickles followed by raw storage bytes. Only plain tensors are supported,
which is all a saved ``state_dict`` holds.
"""

import collections
import pickle
import struct
import zipfile

import numpy as np

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _Storage:
    """Placeholder for a torch storage; ``data`` is filled once its bytes are read."""

    def __init__(self, dtype, key):
        self.dtype = dtype
        self.key = key
        self.data = None


class _Tensor:
    """A view into a storage, turned into a numpy array by ``resolve``."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def resolve(self):
        base = self.storage.data
        itemsize = base.itemsize
        if not self.size:
            return base[self.offset].copy()
        view = np.lib.stride_tricks.as_strided(
            base[self.offset:], shape=self.size, strides=[s * itemsize for s in self.stride]
        )
        return np.array(view)


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    return _Tensor(storage, storage_offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unsupported object in checkpoint: {module}.{name}")

    def persistent_load(self, pid):
        # pid = ('storage', storage_type, key, location, numel[, view_metadata])
        storage_type, key = pid[1], str(pid[2])
        if key not in self.storages:
            self.storages[key] = _Storage(_DTYPES[storage_type], key)
        return self.storages[key]


def _resolve(obj):
    if isinstance(obj, _Tensor):
        return obj.resolve()
    if isinstance(obj, dict):
        return collections.OrderedDict((k, _resolve(v)) for k, v in obj.items())
    return obj


def _load_zip(path):
    storages = {}
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        root = names[0].split("/")[0]
        with archive.open(f"{root}/data.pkl") as f:
            obj = _Unpickler(f, storages).load()
        for key, storage in storages.items():
            storage.data = np.frombuffer(archive.read(f"{root}/data/{key}"), dtype=storage.dtype)
    return obj


def _load_legacy(path):
    storages = {}
    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(f)
        obj = _Unpickler(f, storages).load()
        for key in pickle.load(f):
            storage = storages[str(key)]
            (numel,) = struct.unpack("<q", f.read(8))
            itemsize = np.dtype(storage.dtype).itemsize
            storage.data = np.frombuffer(f.read(numel * itemsize), dtype=storage.dtype)
    return obj


def load_state_dict(path):
    """Return the ``{name: numpy array}`` state dict stored in a ``.pth`` file."""
    loader = _load_zip if zipfile.is_zipfile(path) else _load_legacy
    return _resolve(loader(path))
