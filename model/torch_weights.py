"""Read a legacy (non-zip) PyTorch `.pth` state dict with numpy, without PyTorch.

The project takes ImageNet weights from a pip package that ships a `.pth` file
(model/backbone.py); installing PyTorch for one file read would add about a gigabyte,
so this module is the one owner of that format. A `.pth` is a pickle, and unpickling
runs whatever globals the file names: the unpickler here resolves only the few names
a state dict needs and refuses any other with a one-line ModelError.

Layout of the legacy format (torch.save with _use_new_zipfile_serialization=False):
four pickles in a row (magic number, protocol version, system info, the state dict
whose tensors refer to storages by persistent id), a pickle of the storage keys, then
per key in that order an int64 element count and the raw little-endian elements.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
from pathlib import Path

import numpy as np

from model.errors import ModelError
from settings.errors import first_line

MAX_BYTES = 200 * 1024 * 1024  # EfficientNet-Lite0 is 19 MB; anything far bigger is not ours
MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
PROTOCOL = 1001  # torch.serialization.PROTOCOL_VERSION

# The storage classes a state dict may name, as numpy dtypes (all little-endian).
_STORAGES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
}


class _StorageType:
    """Stands in for torch.FloatStorage etc.: only its dtype matters here."""

    def __init__(self, dtype: np.dtype):
        self.dtype = dtype


class _Storage:
    """A storage named in the state dict; its elements are read after the pickles."""

    def __init__(self, key: str, dtype: np.dtype, numel: int):
        self.key, self.dtype, self.numel = key, dtype, numel
        self.data: np.ndarray | None = None


class _TensorRef:
    """What _rebuild_tensor_v2 returns: a view of a storage, materialised later."""

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _rebuild_tensor_v2(storage, offset, size, stride, *_ignored) -> _TensorRef:
    # requires_grad, backward hooks and metadata do not change the numbers
    if not isinstance(storage, _Storage):
        raise ModelError("corrupt .pth: a tensor does not refer to a storage")
    return _TensorRef(storage, int(offset), tuple(size), tuple(stride))


def _allowed() -> dict[tuple[str, str], object]:
    allowed: dict[tuple[str, str], object] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    }
    for name, dtype in _STORAGES.items():
        allowed[("torch", name)] = _StorageType(dtype)
    return allowed


class _Unpickler(pickle.Unpickler):
    """Resolves only the allowed globals; storages become _Storage placeholders."""

    def __init__(self, stream, allowed: dict):
        super().__init__(stream)
        self.allowed = allowed
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str):
        found = self.allowed.get((module, name))
        if found is None:
            raise ModelError(f"refusing .pth: it names {module}.{name}, not a state dict's")
        return found

    def persistent_load(self, pid):
        # ('storage', storage type, key, location, element count, view metadata)
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise ModelError(f"refusing .pth: unknown persistent id {str(pid)[:60]}")
        _, kind, key, _location, numel, view = pid
        if not isinstance(kind, _StorageType) or view is not None:
            raise ModelError("refusing .pth: unsupported storage (not a plain storage)")
        if int(numel) < 0:
            raise ModelError(f"corrupt .pth: storage {key} of {numel} elements")
        storage = self.storages.setdefault(str(key), _Storage(str(key), kind.dtype, int(numel)))
        if storage.dtype != kind.dtype or storage.numel != int(numel):
            raise ModelError(f"corrupt .pth: storage {key} declared twice differently")
        return storage


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The tensors of a legacy .pth state dict, by name, as numpy arrays (copies).

    Raises ModelError with one line for a file that is too big, not a legacy .pth,
    names a global a state dict does not need, or is truncated.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ModelError(f"{path.name}: {size:,} bytes, over the {MAX_BYTES:,} limit")
        data = path.read_bytes()
    except OSError as e:
        raise ModelError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        return _parse(io.BytesIO(data))
    except ModelError as e:
        raise ModelError(f"{path.name}: {e}") from None
    except Exception as e:  # noqa: BLE001 - untrusted bytes into the unpickler
        # a malformed pickle fails in many ways (UnpicklingError, EOFError, KeyError on
        # a memo, TypeError...): all mean the file is not a legacy .pth
        raise ModelError(f"{path.name}: not a legacy PyTorch file ({first_line(e)})") from None


def _parse(stream: io.BytesIO) -> dict[str, np.ndarray]:
    plain = _Unpickler(stream, {})  # the header pickles name no globals
    if plain.load() != MAGIC:
        raise ModelError("not a legacy PyTorch file (wrong magic number)")
    if (version := plain.load()) != PROTOCOL:
        raise ModelError(f"unsupported PyTorch protocol version {version}")
    info = plain.load()
    if not isinstance(info, dict) or info.get("little_endian") is not True:
        raise ModelError("not saved little-endian (unsupported)")
    unpickler = _Unpickler(stream, _allowed())
    state = unpickler.load()
    if not isinstance(state, dict):
        raise ModelError("not a state dict (the main pickle is not a dict)")
    keys = _Unpickler(stream, {}).load()
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ModelError("corrupt storage key list")
    _read_storages(stream, keys, unpickler.storages)
    return {str(name): _materialise(name, ref) for name, ref in state.items()}


def _read_storages(stream: io.BytesIO, keys: list[str], storages: dict[str, _Storage]) -> None:
    """Fill each storage from the data section: int64 count, then the raw elements."""
    if set(keys) != set(storages):
        raise ModelError("storage key list does not match the tensors' storages")
    for key in keys:
        storage = storages[key]
        head = stream.read(8)
        if len(head) < 8:
            raise ModelError(f"truncated: storage {key} missing")
        count = int(np.frombuffer(head, "<i8")[0])
        if count != storage.numel:
            raise ModelError(f"storage {key}: {count} elements, declared {storage.numel}")
        nbytes = count * storage.dtype.itemsize
        raw = stream.read(nbytes)
        if len(raw) < nbytes:
            raise ModelError(f"truncated: storage {key} has {len(raw)} of {nbytes} bytes")
        storage.data = np.frombuffer(raw, storage.dtype)
    if rest := len(stream.read()):
        raise ModelError(f"{rest} unexpected bytes after the last storage")


def _materialise(name: str, ref) -> np.ndarray:
    """A tensor's elements as a fresh, C-ordered array (views of a storage are copied)."""
    if not isinstance(ref, _TensorRef):
        raise ModelError(f"entry {name} is not a tensor")
    base = ref.storage.data
    size, stride = ref.size, ref.stride
    if len(size) != len(stride) or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise ModelError(f"tensor {name}: bad size/stride {size}/{stride}")
    count = math.prod(size)
    if count == 0:
        return np.zeros(size, base.dtype)
    # a state dict's tensor never has more elements than its storage (a stride-0 view
    # could otherwise ask for any amount of memory), and stays inside it
    last = ref.offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if count > base.size or ref.offset < 0 or last >= base.size:
        raise ModelError(f"tensor {name}: view outside its storage of {base.size} elements")
    view = np.lib.stride_tricks.as_strided(
        base[ref.offset :], shape=size, strides=[s * base.itemsize for s in stride],
        writeable=False,
    )  # fmt: skip
    return np.array(view, dtype=base.dtype.newbyteorder("="), order="C")
