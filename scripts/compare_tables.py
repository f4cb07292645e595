"""Compare two runs' tables (results/tables/*.csv), leaving out what measures wall time.

A change that should not move the numbers (a refactor, a faster engine at the same seed) must
leave every table identical apart from the seconds. Prints one line per table and exits 1 when
any differs.

    python scripts/compare_tables.py BEFORE_TABLES_DIR AFTER_TABLES_DIR [--shared-columns]

With ``--shared-columns`` a change that adds columns (a new quantity beside the old ones) is
checked on the columns both runs have; the added ones are named.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

# Rows that measure time: the seconds per fit and adaptive's extra seconds (Tables 5, 6, 9,
# 11), and the time-ratio claims built from them.
TIMING_QUANTITIES = {"seconds_per_run", "extra_seconds_over_soft"}
TIMING_CLAIM = "adaptive time / soft time"


def untimed(df: pd.DataFrame) -> pd.DataFrame:
    keep = pd.Series(True, index=df.index)
    if "quantity" in df:
        keep &= ~df["quantity"].isin(TIMING_QUANTITIES)
    if "claim" in df:
        keep &= ~df["claim"].astype(str).str.startswith(TIMING_CLAIM)
    return df[keep].reset_index(drop=True)


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--shared-columns"]
    shared = len(args) < len(sys.argv) - 1
    if len(args) != 2:
        sys.exit(__doc__)
    before, after = Path(args[0]), Path(args[1])
    names = sorted({p.name for p in before.glob("*.csv")} | {p.name for p in after.glob("*.csv")})
    if not names:
        sys.exit(f"no tables in {before} or {after}")
    differ = 0
    for name in names:
        if not (before / name).exists() or not (after / name).exists():
            print(f"{name}: only in {before if (before / name).exists() else after}")
            differ += 1
            continue
        a, b = (untimed(pd.read_csv(d / name)) for d in (before, after))
        added = ""
        if shared:
            extra = [c for c in b.columns if c not in a.columns]
            a, b = (
                a[[c for c in a.columns if c in b.columns]],
                b[[c for c in a.columns if c in b.columns]],
            )
            added = f"; added {extra}" if extra else ""
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError as err:
            print(f"{name}: DIFFERS\n{err}")
            differ += 1
            continue
        print(f"{name}: identical ({len(a)} rows compared{added})")
    print(f"{len(names) - differ} of {len(names)} tables identical (wall-time rows left out)")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
