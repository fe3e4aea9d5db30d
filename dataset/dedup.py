"""Exact and near duplicates across all pictures, and which copy to keep.

Exact duplicates share their pixels (pixel_sha256); near duplicates have perceptual
hashes within `max_distance` bits. Candidates come from the same pigeonhole rule as
hashing.NearDuplicateIndex (two hashes within d bits agree on one of d + 1 chunks),
done on whole arrays: sort by chunk value, compare neighbours inside equal runs.

Which copy stays is decided in one fixed order, so the result never depends on file
order: test before train (an image in both leaves train, and CIFAKE's official test
split stays as published), CIFAKE before scraped, then by id. A picture is removed
when it duplicates one already kept. CIFAKE test pictures are never removed; their
duplicates among themselves are only counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from dataset.hashing import HASH_BITS

SPLIT_RANK = {"test": 0, "train": 1}
SOURCE_RANK = {"cifake": 0, "scraped": 1}


def chunk_bounds(max_distance: int) -> list[tuple[int, int]]:
    """(shift, mask) of the max_distance + 1 chunks (as in NearDuplicateIndex)."""
    chunks = min(max_distance + 1, HASH_BITS)
    bounds = np.linspace(0, HASH_BITS, chunks + 1).astype(int)
    return [
        (int(lo), (1 << int(hi - lo)) - 1) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def near_pairs(values: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (i < j) of *distinct* uint64 hashes within max_distance bits: (i, j, d)."""
    values = np.asarray(values, dtype=np.uint64)
    found_i, found_j = [], []
    for shift, mask in chunk_bounds(max_distance):
        part = (values >> np.uint64(shift)) & np.uint64(mask)
        order = np.argsort(part, kind="stable")
        sorted_part = part[order]
        active = np.arange(len(order) - 1)
        step = 1
        while len(active):
            # positions t whose run of equal chunk values reaches t + step
            active = active[active + step < len(order)]
            active = active[sorted_part[active] == sorted_part[active + step]]
            if not len(active):
                break
            a, b = order[active], order[active + step]
            close = np.bitwise_count(values[a] ^ values[b]) <= max_distance
            found_i.append(np.minimum(a[close], b[close]))
            found_j.append(np.maximum(a[close], b[close]))
            step += 1
    if not found_i:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    i = np.concatenate(found_i).astype(np.int64)
    j = np.concatenate(found_j).astype(np.int64)
    # a pair agreeing on several chunks was found once per chunk
    key = np.unique(i * len(values) + j)
    i, j = key // len(values), key % len(values)
    return i, j, np.bitwise_count(values[i] ^ values[j]).astype(np.int64)


@dataclass
class Decision:
    """Per picture: kept or not, and for a removed one what it duplicates and how."""

    keep: np.ndarray  # bool
    kind: list[str]  # "" | "exact" | "near"
    duplicate_of: np.ndarray  # index of the kept picture it duplicates, -1 if kept
    distance: np.ndarray  # Hamming distance of the pHashes, -1 if kept
    counts: dict = field(default_factory=dict)


def decide(
    ids: list[str],
    sources: list[str],
    splits: list[str],
    pixel_hashes: list[str],
    phashes: list[str],
    max_distance: int,
) -> Decision:
    n = len(ids)
    values, inverse = np.unique(
        np.array([int(h, 16) for h in phashes], dtype=np.uint64), return_inverse=True
    )
    near: dict[int, list[tuple[int, int]]] = defaultdict(list)
    if max_distance > 0 and len(values) > 1:
        for a, b, d in zip(*near_pairs(values, max_distance), strict=True):
            near[int(a)].append((int(d), int(b)))
            near[int(b)].append((int(d), int(a)))
    for neighbours in near.values():
        neighbours.sort()

    protected = [
        src == "cifake" and split == "test" for src, split in zip(sources, splits, strict=True)
    ]
    order = sorted(
        range(n),
        key=lambda k: (SPLIT_RANK.get(splits[k], 2), SOURCE_RANK.get(sources[k], 2), ids[k]),
    )
    kept_by_pixels: dict[str, int] = {}
    kept_by_value: dict[int, int] = {}  # first kept picture per distinct pHash
    keep = np.ones(n, dtype=bool)
    kind = [""] * n
    duplicate_of = np.full(n, -1, dtype=np.int64)
    distance = np.full(n, -1, dtype=np.int64)
    counts = {
        "exact_within_split": 0,
        "exact_across_split": 0,
        "near_within_split": 0,
        "near_across_split": 0,
        "across_source": 0,
        "cifake": 0,
        "scraped": 0,
        "total": 0,
    }
    kept_test_duplicates = 0
    for k in order:
        value = int(inverse[k])
        match, how, dist = kept_by_pixels.get(pixel_hashes[k]), "exact", 0
        if match is None:
            match, how = kept_by_value.get(value), "near"
            if match is None:
                for d, other in near.get(value, ()):
                    if other in kept_by_value:
                        match, dist = kept_by_value[other], d
                        break
        if match is None:
            kept_by_pixels.setdefault(pixel_hashes[k], k)
            kept_by_value.setdefault(value, k)
            continue
        if protected[k]:
            kept_test_duplicates += 1
            kept_by_pixels.setdefault(pixel_hashes[k], k)
            kept_by_value.setdefault(value, k)
            continue
        keep[k] = False
        kind[k], duplicate_of[k], distance[k] = how, match, dist
        where = "within_split" if splits[match] == splits[k] else "across_split"
        counts[f"{how}_{where}"] += 1
        counts["across_source"] += sources[match] != sources[k]
        counts[sources[k]] = counts.get(sources[k], 0) + 1
        counts["total"] += 1
    counts["cifake_test_duplicates_kept"] = kept_test_duplicates
    return Decision(keep, kind, duplicate_of, distance, counts)
