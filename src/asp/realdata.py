"""Parse the two real data sets of the case studies (paper §4) from bytes.

The package does no file I/O: a caller reads a file's bytes and passes them here together with
the file's name, which every `DataFormatError` quotes. Row numbers in messages are 1-based line
numbers in the file (the header is line 1), counting a CR CR LF or CR LF as one line end.

Decoding and structure are checked before any value is interpreted, so that a messy file is
either read to exactly the frame its clean twin gives or refused with a message saying why:

* encoding: UTF-8 (an optional BOM is dropped) is tried first, then GBK; anything else is refused.
* line ends: CR CR LF (the raw aqistudy export), CR LF and lone CR all become LF.
* the Chinese header field 日期 is mapped to ``date`` (and 质量等级 to ``quality``).
* field counts are taken per record with the standard `csv` module, and values are then read
  by `pandas.read_csv` with explicit names and ``index_col=False``. This matters because pandas,
  given a header one field shorter than its rows, silently makes the first column the index
  and shifts every name one column left: PM2.5 would be read from the quality label, PM10 from
  PM2.5, and so on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


class DataFormatError(ValueError):
    """A data file that cannot be read honestly; the message names the file, row and column."""


@dataclass(frozen=True, eq=False)  # eq=False: DataFrame has no boolean ==, and no field hashes
class RealData:
    name: str
    inputs: list[str]
    outputs: list[str]
    frame: pd.DataFrame
    rows_read: int
    rows_dropped: int
    notes: list[str] = field(default_factory=list)

    @property
    def X(self) -> np.ndarray:  # noqa: N802 - the paper's notation
        return self.frame[self.inputs].to_numpy(dtype=np.float64)

    @property
    def Y(self) -> np.ndarray:  # noqa: N802 - the paper's notation
        return self.frame[self.outputs].to_numpy(dtype=np.float64)


AIR_INPUTS = ["PM10", "CO", "SO2", "NO2"]
AIR_OUTPUTS = ["PM2.5", "O3_8h"]
# Column order of the pollutants in the aqistudy export; a 0 in any of them means "missing".
AIR_POLLUTANTS = ["PM2.5", "PM10", "SO2", "CO", "NO2", "O3_8h"]
# Header of the clean file; the raw GBK export lacks "quality" but its rows carry it.
AIR_CLEAN_HEADER = ["date", "AQI", "quality", *AIR_POLLUTANTS]
AIR_HEADER_ALIASES = {"日期": "date", "质量等级": "quality"}

STUDENT_INPUTS = [
    "race/ethnicity",
    "parental level of education",
    "lunch",
    "test preparation course",
]
STUDENT_OUTPUTS = ["math score", "reading score", "writing score"]
# Ordered integer codes, so that a single input unit reads as "one step up" (education by level,
# lunch and test preparation as 0/1 indicators). The groups A..E have no documented order; their
# codes follow the letters, which is the order the data set itself uses.
STUDENT_CODING: dict[str, dict[str, int]] = {
    "race/ethnicity": {f"group {g}": i for i, g in enumerate("ABCDE")},
    "parental level of education": {
        "some high school": 0,
        "high school": 1,
        "some college": 2,
        "associate's degree": 3,
        "bachelor's degree": 4,
        "master's degree": 5,
    },
    "lunch": {"free/reduced": 0, "standard": 1},
    "test preparation course": {"none": 0, "completed": 1},
}
STUDENT_SCORE_RANGE = (0.0, 100.0)

EXPECTED_SHA256: dict[str, str] = {
    "student_performance_exams.csv": (
        "96cdb83a410626c1535e02edbb9cc2e85e900c5209fb5d47bb0dee70760428c6"
    ),
    "nanjing_air_daily.csv": "386aebdf3eda90d41bab6fff948af96f034b97ac1f352feeee584c9c4b4b361f",
    "nanjing_air_daily_raw_gbk.csv": (
        "d7c7edcf93493a08675843ef645b98d96392d67b3ff4c045be442bbe774af54a"
    ),
}


def sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _decode(raw: bytes, source: str) -> tuple[str, str]:
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return raw.decode("gbk"), "GBK"
        except UnicodeDecodeError as gbk_error:
            raise DataFormatError(
                f"{source}: neither UTF-8 (bad byte at offset {utf8_error.start}) "
                f"nor GBK (bad byte at offset {gbk_error.start})"
            ) from gbk_error


def _normalise_line_ends(text: str) -> tuple[str, str | None]:
    if "\r\r\n" in text:
        found = "CR CR LF"
    elif "\r\n" in text:
        found = "CR LF"
    elif "\r" in text:
        found = "CR"
    else:
        found = None
    # Longest first, so CR CR LF is one line end rather than a line end plus a blank line.
    text = text.replace("\r\r\n", "\n").replace("\r\n", "\n").replace("\r", "\n")
    return text, found


def _records(text: str, source: str) -> list[tuple[int, list[str]]]:
    """(line, fields) per non-blank record; the csv module only counts fields and lines here."""
    reader = csv.reader(io.StringIO(text))
    out: list[tuple[int, list[str]]] = []
    try:
        for fields in reader:
            if fields:
                out.append((reader.line_num, fields))
    except csv.Error as exc:
        raise DataFormatError(f"{source}: row {reader.line_num}: {exc}") from exc
    return out


def _is_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def _read_table(
    raw: bytes, source: str, header_aliases: dict[str, str] | None
) -> tuple[list[str], list[tuple[int, list[str]]], str, list[str]]:
    """(header, records, normalised text, notes); refuses empty files and duplicate names."""
    if not raw.strip():
        raise DataFormatError(f"{source}: file is empty")
    text, encoding = _decode(raw, source)
    text, line_end = _normalise_line_ends(text)
    notes = [] if encoding == "UTF-8" else [f"{source}: decoded as {encoding}"]
    if line_end not in (None, "CR LF"):
        notes.append(f"{source}: line ends {line_end} read as one line end each")
    records = _records(text, source)
    if not records:
        raise DataFormatError(f"{source}: file is empty")
    aliases = header_aliases or {}
    header = [aliases.get(h.strip(), h.strip()) for h in records[0][1]]
    seen: dict[str, int] = {}
    for col, name in enumerate(header, start=1):
        if name in seen:
            raise DataFormatError(
                f"{source}: row {records[0][0]}: header names column {name!r} twice "
                f"(fields {seen[name]} and {col})"
            )
        seen[name] = col
    if len(records) == 1:
        raise DataFormatError(f"{source}: header only, no data rows")
    return header, records, text, notes


def _check_width(
    source: str, header: list[str], records: list[tuple[int, list[str]]], restore_quality: bool
) -> list[str]:
    """The names to read the rows with: the header, or the header with one field restored."""
    width = len(header)
    counts = {len(fields) for _, fields in records[1:]}
    if counts == {width}:
        return header
    if restore_quality and counts == {width + 1}:
        return _restore_quality(source, header, records)
    line, fields = next((ln, f) for ln, f in records[1:] if len(f) != width)
    raise DataFormatError(
        f"{source}: row {line} has {len(fields)} fields but the header (row {records[0][0]}) "
        f"has {width}: {header}"
    )


def _restore_quality(
    source: str, header: list[str], records: list[tuple[int, list[str]]]
) -> list[str]:
    """Name the one field every row has beyond the header, when that is unambiguous.

    The raw aqistudy export has the header ``日期,AQI,PM2.5,PM10,SO2,CO,NO2,O3_8h`` (8 fields)
    while every row carries 9: the AQI quality label (优, 良, 轻度污染, ...) follows the AQI.
    The missing name is restored only when (a) the header is exactly the clean header without
    ``quality``, (b) every row has exactly one field more, and (c) in every row the field where
    the clean file has ``quality`` is a non-empty non-number while every field after it, where
    the header's own names go, parses as a number (zeros included). Under (a)-(c) no other
    placement of the extra field fits the data, so the repair cannot misalign a column. Anything
    else is refused with the header and row field counts.
    """
    width = len(header)
    pos = AIR_CLEAN_HEADER.index("quality")
    expected = [h for h in AIR_CLEAN_HEADER if h != "quality"]
    refusal = (
        f"{source}: the header (row {records[0][0]}) has {width} fields but every data row has "
        f"{width + 1}"
    )
    if header != expected:
        raise DataFormatError(
            f"{refusal}; the header {header} is not the known export header {expected}, so which "
            "column it lacks is ambiguous"
        )
    for line, fields in records[1:]:
        label = fields[pos].strip()
        if not label or _is_number(label):
            raise DataFormatError(
                f"{refusal}; row {line} field {pos + 1} is {fields[pos]!r}, not a quality label, "
                "so the extra field is not the missing 'quality' column"
            )
        for col in range(pos + 1, width + 1):
            if not _is_number(fields[col].strip()):
                raise DataFormatError(
                    f"{refusal}; row {line} field {col + 1} (would be column "
                    f"{AIR_CLEAN_HEADER[col]!r}) is {fields[col]!r}, not a number, so restoring "
                    "'quality' would misalign the columns"
                )
    return list(AIR_CLEAN_HEADER)


def _load(
    raw: bytes, source: str, header_aliases: dict[str, str] | None, restore_quality: bool
) -> tuple[pd.DataFrame, list[int], list[str]]:
    """Cells as strings (no NA conversion), each row's file line, and notes."""
    header, records, text, notes = _read_table(raw, source, header_aliases)
    names = _check_width(source, header, records, restore_quality)
    if names != header:
        missing = [n for n in names if n not in header]
        notes.append(
            f"{source}: header has {len(header)} fields, rows have {len(names)}; "
            f"restored the missing {missing} column in the position the clean file has it"
        )
    try:
        cells = pd.read_csv(
            io.StringIO(text),
            header=0,
            names=names,
            index_col=False,  # never let a short header turn the first column into the index
            dtype=str,
            keep_default_na=False,  # an empty cell is reported, not silently NaN
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataFormatError(f"{source}: cannot parse as CSV: {exc}") from exc
    lines = [line for line, _ in records[1:]]
    if len(cells) != len(lines):
        raise DataFormatError(
            f"{source}: {len(lines)} data records but pandas read {len(cells)} rows "
            "(quoted line breaks?)"
        )
    return cells, lines, notes


def _require(source: str, cells: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in cells.columns]
    if missing:
        raise DataFormatError(
            f"{source}: row 1 (header): missing required column(s) {missing}; "
            f"found {list(cells.columns)}"
        )


def _numeric(source: str, cells: pd.DataFrame, lines: list[int], column: str) -> pd.Series:
    text = cells[column].str.strip()
    values = pd.to_numeric(text, errors="coerce").astype(np.float64)
    bad = ~np.isfinite(values.to_numpy())
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{source}: row {lines[i]}, column {column!r}: {cells[column].iloc[i]!r} is not a "
            f"number ({int(bad.sum())} such cell(s) in this column)"
        )
    return values


def parse_air(raw: bytes, source: str) -> RealData:
    """Nanjing daily air quality: inputs PM10, CO, SO2, NO2 -> outputs PM2.5, O3_8h.

    A 0 in any pollutant column is the export's code for a missing value, so the row is dropped
    and counted. Dates must be ISO ``YYYY-MM-DD`` and unique. The raw GBK export (short Chinese
    header, CR CR LF line ends) is read to the same frame as the clean file; see
    `_restore_quality` for when the missing header field is restored and when it is refused.
    """
    cells, lines, notes = _load(raw, source, AIR_HEADER_ALIASES, restore_quality=True)
    _require(source, cells, ["date", *AIR_POLLUTANTS])

    date_text = cells["date"].str.strip()
    dates = pd.to_datetime(date_text, format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise DataFormatError(
            f"{source}: row {lines[i]}, column 'date': {cells['date'].iloc[i]!r} is not a "
            "YYYY-MM-DD date"
        )
    dup = dates.duplicated(keep=False).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        j = int(np.flatnonzero(dup & (dates == dates.iloc[i]).to_numpy())[1])
        raise DataFormatError(
            f"{source}: rows {lines[i]} and {lines[j]}, column 'date': duplicate date "
            f"{date_text.iloc[i]}"
        )

    values = pd.DataFrame({c: _numeric(source, cells, lines, c) for c in AIR_POLLUTANTS})
    negative = (values < 0).to_numpy()
    if negative.any():
        i, k = (int(a[0]) for a in np.nonzero(negative))
        raise DataFormatError(
            f"{source}: row {lines[i]}, column {AIR_POLLUTANTS[k]!r}: negative concentration "
            f"{cells[AIR_POLLUTANTS[k]].iloc[i]!r}"
        )

    zero = values == 0
    drop = zero.any(axis=1).to_numpy()
    rows_read = len(values)
    if drop.any():
        per_column = ", ".join(f"{c} {int(zero[c].sum())}" for c in AIR_POLLUTANTS if zero[c].any())
        # AQI is not a drop criterion, but its zeros are shown so the patterns read as the README's.
        shown = zero.copy()
        if "AQI" in cells.columns:
            shown.insert(0, "AQI", pd.to_numeric(cells["AQI"].str.strip(), errors="coerce") == 0)
        patterns = (
            shown[drop]
            .apply(lambda r: "+".join(c for c in shown.columns if r[c]), axis=1)
            .value_counts()
        )
        notes.append(
            f"{source}: dropped {int(drop.sum())} of {rows_read} rows with a 0 (missing) in a "
            f"pollutant column: {per_column} (zero patterns: "
            + ", ".join(f"{p} {n}" for p, n in patterns.items())
            + ")"
        )
    keep = ~drop
    frame = pd.concat(
        [dates[keep].rename("date"), values.loc[keep, AIR_INPUTS + AIR_OUTPUTS]], axis=1
    ).reset_index(drop=True)
    return RealData(
        name="air",
        inputs=list(AIR_INPUTS),
        outputs=list(AIR_OUTPUTS),
        frame=frame,
        rows_read=rows_read,
        rows_dropped=int(drop.sum()),
        notes=notes,
    )


def parse_student(raw: bytes, source: str) -> RealData:
    """Student exams: 4 categorical inputs coded by `STUDENT_CODING` -> 3 scores (K=3).

    ``gender`` is read when present but not used. Nothing is dropped: an unknown category, a
    non-numeric score or a score outside 0..100 is a `DataFormatError`.
    """
    cells, lines, notes = _load(raw, source, None, restore_quality=False)
    _require(source, cells, STUDENT_INPUTS + STUDENT_OUTPUTS)

    columns: dict[str, pd.Series] = {}
    for column in STUDENT_INPUTS:
        coding = STUDENT_CODING[column]
        text = cells[column].str.strip()
        codes = text.map(coding)
        if codes.isna().any():
            i = int(np.flatnonzero(codes.isna().to_numpy())[0])
            raise DataFormatError(
                f"{source}: row {lines[i]}, column {column!r}: unknown category "
                f"{cells[column].iloc[i]!r}; expected one of {list(coding)}"
            )
        columns[column] = codes.astype(np.float64)
    low, high = STUDENT_SCORE_RANGE
    for column in STUDENT_OUTPUTS:
        scores = _numeric(source, cells, lines, column)
        outside = ((scores < low) | (scores > high)).to_numpy()
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise DataFormatError(
                f"{source}: row {lines[i]}, column {column!r}: score {cells[column].iloc[i]!r} "
                f"outside {low:g}..{high:g}"
            )
        columns[column] = scores
    frame = pd.DataFrame(columns).reset_index(drop=True)
    notes.append(
        f"{source}: inputs coded as ordered integers: "
        + "; ".join(
            f"{c}: " + ", ".join(f"{k}={v}" for k, v in STUDENT_CODING[c].items())
            for c in STUDENT_INPUTS
        )
    )
    return RealData(
        name="student",
        inputs=list(STUDENT_INPUTS),
        outputs=list(STUDENT_OUTPUTS),
        frame=frame,
        rows_read=len(frame),
        rows_dropped=0,
        notes=notes,
    )


PARSERS = {"air": parse_air, "student": parse_student}

# Where a user without the files obtains them (they are never part of the repository).
OBTAIN = {
    "nanjing_air_daily.csv": "the aqistudy.cn history pages (https://www.aqistudy.cn/historydata/, "
    "Nanjing, daily), saved as CSV with header date,AQI,quality,PM2.5,PM10,SO2,CO,NO2,O3_8h",
    "nanjing_air_daily_raw_gbk.csv": "the aqistudy.cn history pages (the raw GBK export)",
    "student_performance_exams.csv": "Kaggle: https://www.kaggle.com/datasets/rkiattisak/"
    "student-performance-in-mathematics",
}
