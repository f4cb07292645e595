"""Take the report's first screen in headless Chromium, and check that the page does not scroll
sideways at that width.

    python scripts/screenshot_report.py [--report reports/report.html]
        [--out docs/figures/report_first_screen.png] [--width 1280] [--height 900]

Needs Chromium (Debian's package chromium, which `bash test.sh` installs when run as root).
Prints the page's overflow (how many pixels it is wider than the window) and exits with 1 where
it is not 0.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Headless, and none of Chromium's own network traffic (a machine without internet refuses it).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=10000",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise SystemExit("Chromium is not installed (Debian package chromium)")
    return found


def run(report: Path, width: int, height: int, *args: str) -> subprocess.CompletedProcess:
    """Chromium on ``report`` in a window of ``width`` x ``height``, with a profile of its own."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                chromium(),
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                *args,
                report.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )


def overflow_x(report: Path, width: int, height: int) -> int:
    """How many pixels the page is wider than the window (the report measures itself once
    loaded, in its body's data-overflow-x)."""
    out = run(report, width, height, "--dump-dom")
    found = re.search(r'data-overflow-x="(\d+)"', out.stdout)
    if found is None:
        raise SystemExit(f"{report}: no data-overflow-x in the rendered page\n{out.stderr[-2000:]}")
    return int(found[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", type=Path, default=ROOT / "reports" / "report.html")
    ap.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "figures" / "report_first_screen.png"
    )
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=900)
    args = ap.parse_args()
    if not args.report.is_file():
        raise SystemExit(f"{args.report}: no report; run the workflow first (bash run.sh)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out = run(args.report, args.width, args.height, f"--screenshot={args.out.resolve()}")
    if not args.out.is_file():
        raise SystemExit(f"Chromium wrote no screenshot:\n{out.stderr[-2000:]}")
    wider = overflow_x(args.report, args.width, args.height)
    print(f"{args.out}: {args.width} x {args.height}; the page is {wider} px wider than the window")
    sys.exit(1 if wider else 0)


if __name__ == "__main__":
    main()
