"""asp.data.overlay_images: idx files read and checked, and the overlay data sets they make."""

import gzip

import numpy as np
import pytest

from asp.data.overlay_images import (
    IMAGE_SOURCES,
    OVERLAY_SETS,
    PARTS,
    SHIFT,
    SIDE,
    build_overlay,
    overlay,
    parse_idx,
    read_source,
)
from asp.data.realdata import DataFormatError


def idx_bytes(array: np.ndarray) -> bytes:
    """An idx file of unsigned bytes, gzip-compressed as distributed."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def fake_source(name: str, n_train: int, n_test: int, seed: int):
    """Random images; labels are the image's index mod 10, so a label names its image."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, SIDE, SIDE)),
        "train_labels": np.arange(n_train) % 10,
        "test_images": rng.integers(0, 256, (n_test, SIDE, SIDE)),
        "test_labels": np.arange(n_test) % 10,
    }
    raw = {part: idx_bytes(a) for part, a in arrays.items()}
    paths = {part: f"data/raw/{name}/{IMAGE_SOURCES[name].files[part][0]}" for part in PARTS}
    return raw, paths, arrays


SIZES = {"train": 40, "val": 12, "test": 15}


@pytest.fixture(scope="module")
def sources():
    out = {}
    for k, name in enumerate(("mnist", "fashion")):
        raw, paths, _ = fake_source(name, 9, 5, k)
        out[name] = read_source(name, raw, paths, check=False)
    return out


def test_idx_files_round_trip_compressed_or_not():
    a = np.arange(2 * SIDE * SIDE).reshape(2, SIDE, SIDE) % 256
    assert (parse_idx(idx_bytes(a), "x.gz", 3) == a).all()
    assert (parse_idx(gzip.decompress(idx_bytes(a)), "x", 3) == a).all()


@pytest.mark.parametrize(
    "raw, dims, message",
    [
        (b"\x1f\x8bnot gzip", 1, "f.gz: not a readable gzip file"),
        (b"PK\x03\x04", 1, "f.gz: not an idx file of unsigned bytes"),
        (
            gzip.decompress(idx_bytes(np.zeros(3))),
            3,
            "f.gz: an idx file of 1 dimensions, expected 3",
        ),
        (gzip.decompress(idx_bytes(np.zeros(3)))[:-1], 1, r"f.gz: the header gives \(3,\)"),
    ],
)
def test_a_file_that_is_not_idx_is_refused_naming_it(raw, dims, message):
    with pytest.raises(DataFormatError, match=message):
        parse_idx(raw, "f.gz", dims)


def test_a_file_with_a_wrong_checksum_is_refused_naming_it_and_saying_how_to_obtain_it():
    raw, paths, _ = fake_source("fashion", 3, 2, 0)
    with pytest.raises(DataFormatError) as err:
        read_source("fashion", raw, paths)
    text = str(err.value)
    assert text.startswith("data/raw/fashion/train-images-idx3-ubyte.gz: sha256 ")
    assert IMAGE_SOURCES["fashion"].files["train_images"][1] in text
    assert "apt-get install dataset-fashion-mnist" in text


def test_labels_must_match_their_images():
    raw, paths, arrays = fake_source("mnist", 4, 2, 0)
    raw["test_labels"] = idx_bytes(np.arange(3))
    with pytest.raises(DataFormatError, match="t10k-labels-idx1-ubyte.gz: 3 labels for 2 images"):
        read_source("mnist", raw, paths, check=False)


def test_the_overlay_is_top_left_bottom_right_and_the_maximum_where_they_meet():
    rng = np.random.default_rng(1)
    a, b = (rng.integers(0, 256, (3, SIDE, SIDE)).astype(np.uint8) for _ in range(2))
    c = overlay(a, b)
    assert c.shape == (3, 36, 36) and c.dtype == np.uint8
    assert (c[:, :SHIFT, :SIDE] == a[:, :SHIFT]).all()  # top rows: the first image alone
    assert (c[:, SHIFT:SIDE, :SHIFT] == a[:, SHIFT:, :SHIFT]).all()
    assert (c[:, SIDE:, SHIFT:] == b[:, SIDE - SHIFT :]).all()  # bottom rows: the second
    assert (c[:, SHIFT:, SIDE:] == b[:, :, SIDE - SHIFT :]).all()
    assert (c[:, SIDE:, :SHIFT] == 0).all() and (c[:, :SHIFT, SIDE:] == 0).all()
    overlap = c[:, SHIFT:SIDE, SHIFT:SIDE]
    assert (overlap == np.maximum(a[:, SHIFT:, SHIFT:], b[:, : SIDE - SHIFT, : SIDE - SHIFT])).all()


@pytest.mark.parametrize("dataset", sorted(OVERLAY_SETS))
def test_the_three_data_sets_are_built_from_their_sources(sources, dataset):
    seed = np.random.SeedSequence(2024, spawn_key=(7,))
    splits = build_overlay(dataset, sources, SIZES, 1 / 3, seed)
    first, second = (sources[s] for s in OVERLAY_SETS[dataset])
    for split, part in splits.items():
        kind = "test" if split == "test" else "train"
        a, b = part.sources.T
        assert len(part.images) == SIZES[split] == len(part.labels)
        # labels: task 1 the top-left image's, task 2 the bottom-right one's
        assert (part.labels[:, 0] == getattr(first, f"{kind}_labels")[a]).all()
        assert (part.labels[:, 1] == getattr(second, f"{kind}_labels")[b]).all()
        expected = overlay(
            getattr(first, f"{kind}_images")[a], getattr(second, f"{kind}_images")[b]
        )
        assert (part.images == expected).all()
        if first.name == second.name:  # two different images
            assert (a != b).all()
    # no source training image serves both training and validation overlays
    for k in range(2):
        assert not set(splits["train"].sources[:, k]) & set(splits["val"].sources[:, k])
    again = build_overlay(dataset, sources, SIZES, 1 / 3, seed)
    assert all((again[s].images == splits[s].images).all() for s in splits)
    other = build_overlay(dataset, sources, SIZES, 1 / 3, np.random.SeedSequence(2025))
    assert not (other["train"].sources == splits["train"].sources).all()


def test_the_debian_package_files_match_their_checksums():
    """Where Fashion-MNIST's Debian package is installed (test.sh installs it), its files are
    the ones the checksums name, and they read as 60,000 + 10,000 images."""
    from pathlib import Path

    folder = Path(IMAGE_SOURCES["fashion"].package_dir)
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent: the package dataset-fashion-mnist is not installed")
    files = IMAGE_SOURCES["fashion"].files
    raw = {part: (folder / files[part][0]).read_bytes() for part in PARTS}
    src = read_source("fashion", raw, {part: str(folder / files[part][0]) for part in PARTS})
    assert src.train_images.shape == (60_000, 28, 28) and src.test_images.shape == (10_000, 28, 28)
    assert np.bincount(src.test_labels).tolist() == [1000] * 10
