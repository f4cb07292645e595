"""Run one surrogate on every test-function pair in turn: every run at every p of a pair as one
batch (asp.bayesopt)."""

import time

import torch
from io_utils import start_logging, versions, write_parquet

from asp.bayesopt import run_pair
from asp.jobs import config_hash
from asp.progress import Progress
from asp.surrogates import make_surrogate

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
torch.set_num_threads(smk.threads)
block, name = dict(smk.params.block), smk.wildcards.surrogate
base_seed = int(smk.params.base_seed)
surrogate = make_surrogate(name, block, bool(smk.params.compile))
stamp = versions()
digest = config_hash({**block, "base_seed": smk.params.base_seed})  # every pair's
# A line at least every 30 s on the console and in the log: the pair, the iteration and the
# time left.
progress = Progress(f"bayesopt {name}", [(pair, 1) for pair in smk.params.pairs])
for i, (pair, path) in enumerate(zip(smk.params.pairs, smk.output, strict=True)):
    start = time.perf_counter()
    with progress.part(i):
        rows = run_pair(block, pair, surrogate, base_seed)
    seconds = time.perf_counter() - start
    meta = {
        "pair": pair,
        "surrogate": name,
        "base_seed": smk.params.base_seed,
        "config_hash": digest,
        "seconds": seconds,
        "versions": stamp,
    }
    write_parquet(rows.assign(seconds=seconds), path, meta)
    log.info("%s %s: %d rows in %.0f s", pair, name, len(rows), seconds)
