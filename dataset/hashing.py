"""Fingerprints of pictures, shared by the scraper and the merge stage.

- `pixel_sha256`: exact duplicates are the same *pixels*, whatever file wraps them
  (a PNG and a lossless WebP of one picture are one picture).
- `perceptual_hash`: imagehash's DCT hash (pHash, 64 bits), stored as a 16-digit hex
  string; near duplicates (re-encoded, resized, lightly edited) differ in a few bits.
- `NearDuplicateIndex`: which stored hashes lie within a Hamming distance of a new
  one, without comparing against all of them (pigeonhole on hash chunks).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import imagehash
import numpy as np
import scipy.fftpack
from PIL import Image

HASH_BITS = 64
PHASH_SIZE, PHASH_FACTOR = 8, 4  # imagehash.phash defaults: 8x8 bits from a 32x32 DCT


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pixel_sha256(rgb: np.ndarray) -> str:
    """sha256 over the shape and the RGB bytes of a decoded picture."""
    digest = hashlib.sha256(repr(rgb.shape).encode())
    digest.update(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
    return digest.hexdigest()


def perceptual_hash(rgb: np.ndarray) -> str:
    """imagehash.phash of an RGB array, as 16 hex digits."""
    return perceptual_hashes([rgb])[0]


def perceptual_hashes(rgbs) -> list[str]:
    """`perceptual_hash` of many RGB arrays at once: the same strings, faster.

    The steps of imagehash.phash (4.3.2) exactly: Pillow's grey conversion and
    Lanczos resize to 32x32 per picture, then scipy.fftpack's DCT, the median of
    the 8x8 low frequencies and the hex digits, done for the whole batch at once
    (imagehash's per-picture DCT calls and bit-string formatting cost more than
    the rest of the work on small pictures; tests compare against imagehash).
    """
    side = PHASH_SIZE * PHASH_FACTOR
    grey = np.empty((len(rgbs), side, side), dtype=np.uint8)
    if not len(grey):
        return []
    direct = [i for i, rgb in enumerate(rgbs) if rgb.shape == (side, side, 3)]
    if direct:
        # Already 32x32 (CIFAKE): Pillow's resize would return a copy, and its
        # RGB -> L conversion is this fixed-point formula (tests check every colour).
        rgb = np.stack([rgbs[i] for i in direct]).astype(np.uint32)
        luma = rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000
        grey[direct] = (luma >> 16).astype(np.uint8)
    for i, rgb in enumerate(rgbs):
        if rgb.shape != (side, side, 3):
            image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
            grey[i] = np.asarray(image.convert("L").resize((side, side), imagehash.ANTIALIAS))
    dct = scipy.fftpack.dct(scipy.fftpack.dct(grey, axis=1), axis=2)
    low = dct[:, :PHASH_SIZE, :PHASH_SIZE].reshape(len(grey), -1)
    bits = low > np.median(low, axis=1, keepdims=True)
    return [row.tobytes().hex() for row in np.packbits(bits, axis=1)]


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


class NearDuplicateIndex:
    """Hashes added so far, searchable for those within `max_distance` bits of a query.

    Split the 64 bits into max_distance + 1 chunks: two hashes that differ in at most
    max_distance bits agree exactly on at least one chunk (pigeonhole), so only the
    hashes sharing a chunk value with the query are compared bit by bit.
    """

    def __init__(self, max_distance: int):
        if max_distance < 0:
            raise ValueError("max_distance must be >= 0")
        self.max_distance = max_distance
        chunks = min(max_distance + 1, HASH_BITS)
        bounds = np.linspace(0, HASH_BITS, chunks + 1).astype(int)
        self._chunks = [
            (int(lo), (1 << int(hi - lo)) - 1)
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        self._buckets: list[dict[int, list[int]]] = [defaultdict(list) for _ in self._chunks]
        self._values: list[int] = []
        self.keys: list[object] = []

    def __len__(self) -> int:
        return len(self._values)

    def _parts(self, value: int):
        return [(value >> shift) & mask for shift, mask in self._chunks]

    def add(self, phash: str, key: object = None) -> None:
        value = int(phash, 16)
        position = len(self._values)
        self._values.append(value)
        self.keys.append(key)
        for bucket, part in zip(self._buckets, self._parts(value), strict=True):
            bucket[part].append(position)

    def find(self, phash: str) -> list[tuple[object, int]]:
        """(key, distance) of every stored hash within max_distance, nearest first."""
        value = int(phash, 16)
        seen: set[int] = set()
        found = []
        for bucket, part in zip(self._buckets, self._parts(value), strict=True):
            for position in bucket.get(part, ()):
                if position in seen:
                    continue
                seen.add(position)
                distance = (self._values[position] ^ value).bit_count()
                if distance <= self.max_distance:
                    found.append((self.keys[position], distance))
        found.sort(key=lambda item: item[1])
        return found

    def nearest(self, phash: str) -> tuple[object, int] | None:
        found = self.find(phash)
        return found[0] if found else None
