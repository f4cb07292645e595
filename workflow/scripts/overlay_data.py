"""Build one overlay data set of the CLL paper's image study from its sources' idx files, each
checked by its sha256 (asp.overlay_images)."""

from pathlib import Path

import numpy as np
from io_utils import start_logging

from asp.lenet_study import data_seed
from asp.overlay_images import PARTS, build_overlay, overlay_sources, read_source
from asp.realdata import DataFormatError

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
p = smk.params.data
dataset = p["dataset"]
sources = {}
try:
    for source in dict.fromkeys(overlay_sources(dataset)):
        paths = {part: smk.input[f"{source}_{part}"] for part in PARTS}
        raw = {part: Path(path).read_bytes() for part, path in paths.items()}
        sources[source] = read_source(source, raw, paths)
        s = sources[source]
        log.info(
            "%s: %d training and %d test images", source, len(s.train_images), len(s.test_images)
        )
except DataFormatError as err:
    log.error("%s", err)
    raise SystemExit(f"{dataset}: {err}") from None
splits = build_overlay(
    dataset, sources, p["images"], p["validation"], data_seed(p["base_seed"], dataset)
)
arrays = {}
for split, part in splits.items():
    arrays |= {f"{split}_images": part.images, f"{split}_labels": part.labels}
    arrays[f"{split}_sources"] = part.sources
np.savez_compressed(smk.output[0], **arrays)
log.info("%s: %s", dataset, {k: len(v.images) for k, v in splits.items()})
