"""Seed derivation: every random draw of a replicate comes from (base_seed, dataset, N, r).

The streams are independent of the method, so all methods of a replicate see the same data,
split, initial weights and mini-batch order (paired comparisons).
"""

from __future__ import annotations

import zlib

import numpy as np

STREAMS = ("data", "split", "init", "batches")


def dataset_key(dataset: str) -> int:
    """A stable integer for a dataset name, or any name of a seed stream (Python's hash() is
    salted per process)."""
    return zlib.crc32(dataset.encode("utf-8"))


def replicate_seeds(
    base_seed: int, dataset: str, n: int, replicate: int
) -> dict[str, np.random.SeedSequence]:
    """One independent SeedSequence per stream for replicate ``replicate`` of (dataset, N)."""
    if min(base_seed, n, replicate) < 0:
        raise ValueError(
            f"seeds need non-negative base_seed, N and replicate, got {base_seed}, {n}, {replicate}"
        )
    root = np.random.SeedSequence(entropy=base_seed, spawn_key=(dataset_key(dataset), n, replicate))
    return dict(zip(STREAMS, root.spawn(len(STREAMS)), strict=True))


def child(seq: np.random.SeedSequence, *keys: int) -> np.random.SeedSequence:
    """An independent stream of ``seq`` named by ``keys`` (the same keys, the same stream)."""
    return np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, *keys))


def torch_seed(seq: np.random.SeedSequence) -> int:
    """A 63-bit integer for torch.Generator.manual_seed drawn from a SeedSequence."""
    return int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
