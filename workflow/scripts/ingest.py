"""Check (checksum) and parse one case-study file by its data set entry
(asp.data.realdata.read_data); write it in the layout of simulated data."""

import json
from pathlib import Path

import pandas as pd
from io_utils import start_logging, write_parquet

from asp.data.realdata import expected_sha256, read_data, report_note, sha256_hex

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
dataset = smk.wildcards.dataset
path = Path(smk.input.raw)
raw = path.read_bytes()
digest = sha256_hex(raw)
entry = smk.params.entry
expected = expected_sha256(entry)
warning = None
if expected and digest != expected:
    # Users may bring a longer series: go on, but say so here and in the report.
    warning = f"{path}: sha256 {digest} differs from the documented {expected}"
    log.warning(warning)
data = read_data(raw, str(path), dataset, entry)
frame = pd.DataFrame(data.X, columns=[f"x{i}" for i in range(len(data.inputs))])
frame[[f"y{j}" for j in range(len(data.outputs))]] = data.Y
provenance = {
    "dataset": dataset,
    "file": str(path),
    "sha256": digest,
    "expected_sha256": expected,
    "checksum_warning": warning,
    "rows_read": data.rows_read,
    "rows_dropped": data.rows_dropped,
    "rows_used": len(frame),
    "inputs": data.inputs,
    "outputs": data.outputs,
    "notes": data.notes,
}
if "date" in data.frame:
    provenance["first_date"] = str(data.frame["date"].min().date())
    provenance["last_date"] = str(data.frame["date"].max().date())
provenance["report_note"] = report_note(dataset, provenance)
write_parquet(frame, smk.output.data, provenance)
Path(smk.output.provenance).write_text(json.dumps(provenance, indent=1))
log.info(
    "%s: %d rows read, %d dropped, %d used", path, data.rows_read, data.rows_dropped, len(frame)
)
