"""Reads a PyTorch checkpoint's tensors into numpy without importing torch.

Pretrained ImageNet weights ship inside registry packages as `.pth` files; reading them with pickle's own machinery
keeps the conversion free of torch, which training on the TensorFlow or jax backend does not otherwise need. Both
of torch's layouts are read: the legacy stream (magic number, protocol, system info, the pickled object, then each
storage's bytes) and the zip archive of torch >= 1.6. Only tensors and plain containers are rebuilt; any other
class that a checkpoint names is refused, so a file cannot make this code run what it wants.
"""

from __future__ import annotations

import collections
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _Storage:
    """A storage named by the pickle; its bytes arrive after the pickle (legacy) or from the archive (zip)."""

    def __init__(self, key: str, dtype: type) -> None:
        self.key = key
        self.dtype = np.dtype(dtype)
        self.values: np.ndarray | None = None


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def to_numpy(self) -> np.ndarray:
        values = self.storage.values
        if values is None:
            raise ValueError(f"checkpoint has no bytes for storage {self.storage.key}")
        if not self.size:
            return values[self.offset].copy()
        itemsize = values.itemsize
        view = np.lib.stride_tricks.as_strided(
            values[self.offset:], shape=self.size, strides=[s * itemsize for s in self.stride], writeable=False)
        return np.array(view)


def _rebuild_tensor(storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...],
                    *_: Any) -> _Tensor:
    return _Tensor(storage, offset, tuple(size), tuple(stride))


class _StorageType:
    def __init__(self, name: str) -> None:
        self.dtype = STORAGE_DTYPES[name]


class _CheckpointUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"checkpoint names {module}.{name}, which is not a tensor or a container")

    def persistent_load(self, pid: Any) -> _Storage:
        # ('storage', storage type, key, location, numel[, view metadata])
        storage_type, key = pid[1], str(pid[2])
        if key not in self.storages:
            self.storages[key] = _Storage(key, storage_type.dtype)
        return self.storages[key]


def _read_legacy(file: BinaryIO) -> Any:
    if _CheckpointUnpickler(file).load() != LEGACY_MAGIC:
        raise ValueError("not a PyTorch checkpoint")
    _CheckpointUnpickler(file).load()  # protocol version
    _CheckpointUnpickler(file).load()  # system information
    unpickler = _CheckpointUnpickler(file)
    result = unpickler.load()
    keys = _CheckpointUnpickler(file).load()  # the storages' keys, in the order their bytes follow
    for key in keys:
        storage = unpickler.storages[str(key)]
        (count,) = struct.unpack("<q", file.read(8))
        storage.values = np.frombuffer(file.read(count * storage.dtype.itemsize), dtype=storage.dtype)
    return result


def _read_zip(path: Path) -> Any:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickled = next(n for n in names if n.endswith("/data.pkl"))
        root = pickled[: -len("data.pkl")]
        with archive.open(pickled) as file:
            unpickler = _CheckpointUnpickler(file)  # type: ignore[arg-type]
            result = unpickler.load()
        for key, storage in unpickler.storages.items():
            storage.values = np.frombuffer(archive.read(f"{root}data/{key}"), dtype=storage.dtype)
    return result


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Name -> array for every tensor of a checkpoint that holds a state dict (as torchvision's do)."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        result = _read_zip(path)
    else:
        with path.open("rb") as file:
            result = _read_legacy(file)
    if isinstance(result, dict) and "state_dict" in result:
        result = result["state_dict"]
    if not isinstance(result, dict):
        raise ValueError(f"{path.name} holds no state dict")
    return {name: value.to_numpy() for name, value in result.items() if isinstance(value, _Tensor)}
