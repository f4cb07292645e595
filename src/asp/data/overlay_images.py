"""Two-task image data sets made by overlaying two images (Xu 2023 §3.1, after Sabour et al.
2017 and Lin et al. 2019): Multi-MNIST, Multi-FashionMNIST and Multi-(Fashion+MNIST).

Each example puts one 28 x 28 image in the top-left corner and another in the bottom-right
corner of a 36 x 36 canvas, with the pixel-wise maximum where they overlap (an 20 x 20 square).
Task 1 is the top-left image's class, task 2 the bottom-right one's. The images come from the
original idx files (gzip-compressed, as distributed), each checked by its sha256.

The package does no file I/O: a caller reads each file's bytes and passes them here together
with the file's name, which every `DataFormatError` quotes (as asp.data.realdata does).
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

import numpy as np

from asp.data.realdata import DataFormatError, sha256_hex
from asp.engine.seeds import child

CANVAS = 36  # pixels per side
SIDE = 28  # of a source image
SHIFT = CANVAS - SIDE  # the bottom-right image's offset in both directions
PARTS = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class ImageSource:
    """One original data set's four idx files: name -> sha256 of the gzip file, per part;
    ``package_dir``: where a system package installs them (else the user provides them);
    ``obtain``: what a message says to do when they are missing."""

    name: str
    files: dict[str, tuple[str, str]]  # part -> (file name, sha256)
    obtain: str
    package_dir: str | None = None


IMAGE_SOURCES = {
    "mnist": ImageSource(
        "mnist",
        {
            "train_images": (
                "train-images-idx3-ubyte.gz",
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            ),
            "train_labels": (
                "train-labels-idx1-ubyte.gz",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            ),
            "test_images": (
                "t10k-images-idx3-ubyte.gz",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            ),
            "test_labels": (
                "t10k-labels-idx1-ubyte.gz",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
        },
        obtain=(
            "MNIST is in no package registry: put its four idx files, gzip-compressed as "
            "LeCun et al. distribute them, in data/raw/mnist/"
        ),
    ),
    "fashion": ImageSource(
        "fashion",
        {
            "train_images": (
                "train-images-idx3-ubyte.gz",
                "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
            ),
            "train_labels": (
                "train-labels-idx1-ubyte.gz",
                "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
            ),
            "test_images": (
                "t10k-images-idx3-ubyte.gz",
                "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
            ),
            "test_labels": (
                "t10k-labels-idx1-ubyte.gz",
                "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
            ),
        },
        obtain=(
            "install the Debian package dataset-fashion-mnist (apt-get install "
            "dataset-fashion-mnist), or put its four idx files in data/raw/fashion/"
        ),
        package_dir="/usr/share/datasets/fashion-mnist",
    ),
}

# data set -> (top-left source, bottom-right source); Xu 2023: Multi-(Fashion+MNIST) takes its
# images "from MNIST and FashionMNIST respectively", read as MNIST top-left (task 1)
OVERLAY_SETS = {
    "multi_mnist": ("mnist", "mnist"),
    "multi_fashion": ("fashion", "fashion"),
    "multi_fashion_mnist": ("mnist", "fashion"),
}


def overlay_sources(dataset: str) -> tuple[str, str]:
    """The (top-left, bottom-right) image sources of an overlay data set."""
    if dataset not in OVERLAY_SETS:
        raise ValueError(
            f"unknown overlay data set {dataset!r}; known: {', '.join(sorted(OVERLAY_SETS))}"
        )
    return OVERLAY_SETS[dataset]


def parse_idx(raw: bytes, source: str, dims: int) -> np.ndarray:
    """The uint8 array of an idx file (gzip-compressed or not) with ``dims`` dimensions
    (1: labels, 3: images); a DataFormatError naming ``source`` if it is not one."""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DataFormatError(f"{source}: not a readable gzip file ({err})") from err
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise DataFormatError(f"{source}: not an idx file of unsigned bytes (magic {raw[:4]!r})")
    if raw[3] != dims:
        raise DataFormatError(f"{source}: an idx file of {raw[3]} dimensions, expected {dims}")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataFormatError(f"{source}: truncated idx header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    size = int(np.prod(shape))
    if len(raw) != header + size:
        raise DataFormatError(
            f"{source}: the header gives {shape} ({size} bytes), the file holds "
            f"{len(raw) - header} bytes of data"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@dataclass(frozen=True)
class SourceImages:
    """One source's images (n, 28, 28) uint8 and labels (n,), for its train and test splits."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def read_source(
    name: str, raw: dict[str, bytes], paths: dict[str, str], check: bool = True
) -> SourceImages:
    """A source's four parts from their bytes (``raw[part]``, read from ``paths[part]``), each
    checked against its sha256 unless ``check`` is False (the tests' small files)."""
    spec = IMAGE_SOURCES[name]
    arrays = {}
    for part in PARTS:
        fname, expected = spec.files[part]
        if check and sha256_hex(raw[part]) != expected:
            raise DataFormatError(
                f"{paths[part]}: sha256 {sha256_hex(raw[part])}, expected {expected} for "
                f"{name}'s {fname}; the file is damaged or another version. To obtain it: "
                f"{spec.obtain}"
            )
        arrays[part] = parse_idx(raw[part], paths[part], 3 if part.endswith("images") else 1)
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape[1:] != (SIDE, SIDE):
            raise DataFormatError(
                f"{paths[f'{split}_images']}: images of {images.shape[1:]}, expected 28 x 28"
            )
        if len(images) != len(labels):
            raise DataFormatError(
                f"{paths[f'{split}_labels']}: {len(labels)} labels for {len(images)} images "
                f"in {paths[f'{split}_images']}"
            )
        if labels.size and labels.max() > 9:
            raise DataFormatError(f"{paths[f'{split}_labels']}: a label above 9")
    return SourceImages(name, **arrays)


def overlay(top_left: np.ndarray, bottom_right: np.ndarray) -> np.ndarray:
    """Canvases (n, 36, 36) uint8: ``top_left`` (n, 28, 28) at the top-left corner,
    ``bottom_right`` at the bottom-right, their pixel-wise maximum where they overlap."""
    n = len(top_left)
    canvas = np.zeros((n, CANVAS, CANVAS), dtype=np.uint8)
    canvas[:, :SIDE, :SIDE] = top_left
    np.maximum(canvas[:, SHIFT:, SHIFT:], bottom_right, out=canvas[:, SHIFT:, SHIFT:])
    return canvas


def draw_pairs(
    n: int, pool_a: np.ndarray, pool_b: np.ndarray, same: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs of image indices, one from each pool (indices into the source), drawn
    uniformly with replacement across pairs; where both come from the same source, the two
    images of a pair differ (Xu 2023: "two different random images")."""
    if len(pool_a) == 0 or len(pool_b) == 0 or (same and len(pool_a) < 2):
        raise ValueError("overlaying needs at least two source images")
    a = rng.integers(0, len(pool_a), n)
    if same:  # the second from the others: uniform over the pool without the first
        b = rng.integers(0, len(pool_a) - 1, n)
        b = b + (b >= a)
        return pool_a[a], pool_a[b]
    return pool_a[a], pool_b[rng.integers(0, len(pool_b), n)]


@dataclass(frozen=True)
class OverlaySplit:
    """Images (n, 36, 36) uint8, labels (n, 2) (task 1: top-left) and the source indices of
    each image (n, 2), for provenance and the tests."""

    images: np.ndarray
    labels: np.ndarray
    sources: np.ndarray


def build_overlay(
    dataset: str,
    sources: dict[str, SourceImages],
    sizes: dict[str, int],
    validation: float,
    seed: np.random.SeedSequence,
) -> dict[str, OverlaySplit]:
    """The ``train``, ``val`` and ``test`` splits of an overlay data set, of ``sizes[split]``
    images each. A fraction ``validation`` of each source's training images is held out (a
    seeded permutation): the validation overlays are made of those alone, the training
    overlays of the rest, so no source image is in both; the test overlays come from the
    test images."""
    if not 0.0 < validation < 1.0:
        raise ValueError(f"the validation fraction must lie in (0, 1), got {validation}")
    first, second = (sources[s] for s in overlay_sources(dataset))
    same = first.name == second.name
    held = {}
    for k, src in enumerate(dict.fromkeys((first.name, second.name))):
        n_train = len(sources[src].train_images)
        order = np.random.default_rng(child(seed, 0, k)).permutation(n_train)
        n_val = max(1, round(validation * n_train))
        held[src] = {"val": np.sort(order[:n_val]), "train": np.sort(order[n_val:])}
    out = {}
    for i, split in enumerate(("train", "val", "test")):
        rng = np.random.default_rng(child(seed, 1, i))
        if split == "test":
            pools = [np.arange(len(s.test_images)) for s in (first, second)]
        else:
            pools = [held[first.name][split], held[second.name][split]]
        a, b = draw_pairs(int(sizes[split]), pools[0], pools[1], same, rng)
        kind = "test" if split == "test" else "train"
        images = overlay(getattr(first, f"{kind}_images")[a], getattr(second, f"{kind}_images")[b])
        labels = np.stack(
            [getattr(first, f"{kind}_labels")[a], getattr(second, f"{kind}_labels")[b]], axis=1
        ).astype(np.int64)
        out[split] = OverlaySplit(images, labels, np.stack([a, b], axis=1))
    return out
