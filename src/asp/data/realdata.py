"""Parse the real data sets of the case studies from bytes: the paper's two (§4) and any
multi-output regression CSV declared in the config (`read_data`).

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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


# -- one generic reader for any data set declared in the config ------------------------------

# The keys of a data set entry (case_studies.sets.<name>); the schema holds their types.
ENTRY_KEYS = (
    "file",
    "inputs",
    "outputs",
    "categorical",
    "missing",
    "output",
    "expected_sha256",
    "obtain",
)
FIRST_SEEN = "first_seen"  # categories coded 0, 1, 2, ... in order of first appearance
DEFAULT_MISSING = ("", "NA")


@dataclass(frozen=True)
class Adapter:
    """What a built-in data set needs beyond the generic reader: header repairs of its raw
    export, columns it requires beyond those it uses, checks of its own, and its own note on
    dropped rows. A user's data set has none of these."""

    header_aliases: dict[str, str] = field(default_factory=dict)
    restore_quality: bool = False  # the aqistudy export's missing header field
    required: tuple[str, ...] = ()
    # (cells, lines, source) -> extra frame columns (checked), before any value is read
    before: Callable[[pd.DataFrame, list[int], str], dict[str, pd.Series]] | None = None
    # (values of the numeric used columns, cells, lines, source): range checks
    check: Callable[[pd.DataFrame, pd.DataFrame, list[int], str], None] | None = None
    # (missing cells of the used columns, cells, rows read, source) -> the note on dropped rows
    drop_note: Callable[[pd.DataFrame, pd.DataFrame, int, str], str] | None = None
    # (the provenance of its ingest) -> the note the report puts above its results table
    report_note: Callable[[dict], str] | None = None


def _air_dates(cells: pd.DataFrame, lines: list[int], source: str) -> dict[str, pd.Series]:
    """Dates must be ISO ``YYYY-MM-DD`` and unique; they go into the frame (first and last
    date in the provenance)."""
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
    return {"date": dates.rename("date")}


def _air_nonnegative(
    values: pd.DataFrame, cells: pd.DataFrame, lines: list[int], source: str
) -> None:
    """A negative concentration is an error in the file (the export codes missing as 0)."""
    negative = (values < 0).to_numpy()
    if negative.any():
        i, k = (int(a[0]) for a in np.nonzero(negative))
        column = values.columns[k]
        raise DataFormatError(
            f"{source}: row {lines[i]}, column {column!r}: negative concentration "
            f"{cells[column].iloc[i]!r}"
        )


def _air_drop_note(zero: pd.DataFrame, cells: pd.DataFrame, rows_read: int, source: str) -> str:
    drop = zero.any(axis=1).to_numpy()
    per_column = ", ".join(f"{c} {int(zero[c].sum())}" for c in zero.columns if zero[c].any())
    # AQI is not a drop criterion, but its zeros are shown so the patterns read as the README's.
    shown = zero.copy()
    if "AQI" in cells.columns:
        shown.insert(0, "AQI", pd.to_numeric(cells["AQI"].str.strip(), errors="coerce") == 0)
    patterns = (
        shown[drop]
        .apply(lambda r: "+".join(c for c in shown.columns if r[c]), axis=1)
        .value_counts()
    )
    return (
        f"{source}: dropped {int(drop.sum())} of {rows_read} rows with a 0 (missing) in a "
        f"pollutant column: {per_column} (zero patterns: "
        + ", ".join(f"{p} {n}" for p, n in patterns.items())
        + ")"
    )


def _student_scores(
    values: pd.DataFrame, cells: pd.DataFrame, lines: list[int], source: str
) -> None:
    """A score outside 0..100 is an error in the file, not a value to scale."""
    low, high = STUDENT_SCORE_RANGE
    for column in STUDENT_OUTPUTS:
        if column not in values:
            continue
        scores = values[column]
        outside = ((scores < low) | (scores > high)).to_numpy()
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise DataFormatError(
                f"{source}: row {lines[i]}, column {column!r}: score {cells[column].iloc[i]!r} "
                f"outside {low:g}..{high:g}"
            )


def _air_window(provenance: dict) -> str:
    """How our Nanjing series differs from the paper's."""
    p = provenance
    return (
        f"Our Nanjing series covers {p['first_date']} … {p['last_date']}: {p['rows_read']} days, "
        f"{p['rows_used']} usable after dropping {p['rows_dropped']} days with a 0 (missing) in a "
        "pollutant. The paper used 3,274 days from 2013-12-02 to 2022-11-23; no public copy past "
        "2019-06-21 was found, so Tables 8–9 and Figure 6 rest on a shorter window than the "
        "paper's."
    )


def report_note(name: str, provenance: dict) -> str | None:
    """A built-in data set's note above its results table in the report, from its ingest's
    provenance (None: none)."""
    adapter = ADAPTERS.get(name)
    return adapter.report_note(provenance) if adapter and adapter.report_note else None


ADAPTERS: dict[str, Adapter] = {
    "air": Adapter(
        header_aliases=AIR_HEADER_ALIASES,
        restore_quality=True,
        required=("date", *AIR_POLLUTANTS),
        before=_air_dates,
        check=_air_nonnegative,
        drop_note=_air_drop_note,
        report_note=_air_window,
    ),
    "student": Adapter(check=_student_scores),
}

# The two case studies of the paper (§4) as data set entries: a config entry such as
# ``air: {file: nanjing_air_daily.csv}`` is merged into these (its keys win).
BUILTIN_SETS: dict[str, dict] = {
    "air": {
        "file": "nanjing_air_daily.csv",
        "inputs": list(AIR_INPUTS),
        "outputs": list(AIR_OUTPUTS),
        "categorical": {},
        # a 0 in any pollutant is the export's code for "missing"; an empty cell is an error
        "missing": {"values": [], "zero_in": list(AIR_POLLUTANTS)},
        "output": "sigmoid",
    },
    "student": {
        "file": "student_performance_exams.csv",
        "inputs": list(STUDENT_INPUTS),
        "outputs": list(STUDENT_OUTPUTS),
        "categorical": {c: list(coding) for c, coding in STUDENT_CODING.items()},
        "missing": {"values": [], "zero_in": []},  # nothing is missing: every cell is checked
        "output": "sigmoid",
    },
}


def resolve_entry(name: str, entry: dict | None = None) -> dict:
    """A data set entry with everything filled in: the built-in entry of ``name`` (if any)
    merged with ``entry`` (its keys win), then the defaults (no categorical inputs, missing
    cells ``""`` and ``"NA"``, no zero-coded columns, sigmoid output)."""
    merged = {**BUILTIN_SETS.get(name, {}), **(entry or {})}
    missing = merged.get("missing") or {}
    merged["missing"] = {
        "values": list(missing.get("values", DEFAULT_MISSING)),
        "zero_in": list(missing.get("zero_in", [])),
    }
    merged["categorical"] = dict(merged.get("categorical") or {})
    merged.setdefault("output", "sigmoid")
    merged.setdefault("inputs", [])
    merged.setdefault("outputs", [])
    return merged


def expected_sha256(entry: dict) -> str | None:
    """The entry's documented checksum, or the known one of a built-in file."""
    return entry.get("expected_sha256") or EXPECTED_SHA256.get(Path(entry["file"]).name)


def obtain(entry: dict) -> str:
    """Where to obtain the entry's file, for messages."""
    return entry.get("obtain") or OBTAIN.get(Path(entry["file"]).name, "its original source")


def header_of(first_line: bytes, source: str, name: str = "") -> list[str]:
    """The column names in the first line of a file (decoded and aliased as the reader does);
    the workflow reads that line, so a misspelt column stops a run at start-up."""
    line = first_line.split(b"\n", 1)[0].split(b"\r", 1)[0]
    text, _ = _decode(line, source)
    fields = next(csv.reader(io.StringIO(text)), [])
    aliases = ADAPTERS[name].header_aliases if name in ADAPTERS else {}
    return [aliases.get(f.strip(), f.strip()) for f in fields]


def check_columns(name: str, entry: dict, header: list[str], source: str) -> None:
    """Every column the entry names (inputs, outputs, categorical, missing.zero_in) is in the
    file's header; otherwise a DataFormatError naming the key, the column and the file's
    columns."""
    entry = resolve_entry(name, entry)
    named = [("inputs", c) for c in entry["inputs"]] + [("outputs", c) for c in entry["outputs"]]
    named += [("categorical", c) for c in entry["categorical"]]
    named += [("missing.zero_in", c) for c in entry["missing"]["zero_in"]]
    if name in ADAPTERS:
        named += [("file", c) for c in ADAPTERS[name].required]
    have = set(header)
    for key, column in named:
        if column not in have:
            raise DataFormatError(
                f"{source}: case_studies.sets.{name}.{key}: no column {column!r} in the file; "
                f"its columns are {header}"
            )


def _codes(
    source: str,
    column: str,
    raw: pd.Series,
    missing: np.ndarray,
    lines: list[int],
    categories: list[str] | str,
) -> tuple[pd.Series, dict[str, int]]:
    """Integer codes of a categorical column (NaN where missing) and the coding used."""
    text = raw.str.strip()
    present = text[~missing]
    if categories == FIRST_SEEN:
        coding = {c: i for i, c in enumerate(dict.fromkeys(present))}
    else:
        coding = {c: i for i, c in enumerate(categories)}
    codes = text.map(coding).astype(np.float64)
    unknown = codes.isna().to_numpy() & ~missing
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise DataFormatError(
            f"{source}: row {lines[i]}, column {column!r}: unknown category "
            f"{raw.iloc[i]!r}; expected one of {list(coding)}"
        )
    return codes, coding


def _numbers(
    source: str, column: str, raw: pd.Series, missing: np.ndarray, lines: list[int]
) -> pd.Series:
    """The numbers of a column (NaN where missing); any other cell that is not a finite number
    is refused naming its row."""
    text = raw.str.strip()
    values = pd.to_numeric(text.where(~missing), errors="coerce").astype(np.float64)
    bad = ~np.isfinite(values.to_numpy()) & ~missing
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{source}: row {lines[i]}, column {column!r}: {raw.iloc[i]!r} is not a "
            f"number ({int(bad.sum())} such cell(s) in this column)"
        )
    return values


def _drop_note(source: str, entry: dict, miss: pd.DataFrame, used: list[str], rows: int) -> str:
    """What dropping the rows with a missing cell took, per column."""
    absent = sorted({v.strip() for v in entry["missing"]["values"]})
    zero_in = entry["missing"]["zero_in"]
    per_column = ", ".join(f"{c} {int(miss[c].sum())}" for c in used if miss[c].any())
    return (
        f"{source}: dropped {int(miss.any(axis=1).sum())} of {rows} rows with a missing cell "
        f"(one of {absent}"
        + (f", or 0 in {zero_in}" if zero_in else "")
        + f") in a used column: {per_column}"
    )


def _coding_note(source: str, entry: dict, codings: dict[str, dict], used: list[str]) -> str:
    """How the categorical inputs were coded."""
    return f"{source}: inputs coded as ordered integers: " + "; ".join(
        f"{c}"
        + (" (in order of first appearance)" if entry["categorical"][c] == FIRST_SEEN else "")
        + ": "
        + ", ".join(f"{k}={v}" for k, v in codings[c].items())
        for c in used
        if c in codings
    )


def read_data(raw: bytes, source: str, name: str, entry: dict | None = None) -> RealData:
    """Any multi-output regression CSV declared as a data set entry (``case_studies.sets.
    <name>``; `resolve_entry` fills in the built-in entry of air or student and the
    defaults).

    The file is decoded and checked as described above; the entry's columns must be in its
    header. Categorical inputs get integer codes (the given order, or ``first_seen``); every
    other used column must hold finite numbers. A used cell that is missing (one of
    ``missing.values``, or a 0 in a ``missing.zero_in`` column) drops its row, counted and
    noted; any other bad cell is a `DataFormatError` naming the file, row and column.
    """
    entry = resolve_entry(name, entry)
    adapter = ADAPTERS.get(name, Adapter())
    cells, lines, notes = _load(raw, source, adapter.header_aliases, adapter.restore_quality)
    inputs, outputs = list(entry["inputs"]), list(entry["outputs"])
    _require(source, cells, list(dict.fromkeys([*adapter.required, *inputs, *outputs])))
    extra = adapter.before(cells, lines, source) if adapter.before else {}

    absent = {v.strip() for v in entry["missing"]["values"]}
    used = [c for c in cells.columns if c in set(inputs) | set(outputs)]  # file order
    columns: dict[str, pd.Series] = {}
    missing: dict[str, np.ndarray] = {}
    codings: dict[str, dict[str, int]] = {}
    for column in used:
        missing[column] = cells[column].str.strip().isin(absent).to_numpy()
        categories = entry["categorical"].get(column)
        if categories is None:
            columns[column] = _numbers(source, column, cells[column], missing[column], lines)
        else:
            columns[column], codings[column] = _codes(
                source, column, cells[column], missing[column], lines, categories
            )
    numeric = pd.DataFrame({c: columns[c] for c in used if c not in codings})
    if adapter.check:
        adapter.check(numeric, cells, lines, source)
    for column in entry["missing"]["zero_in"]:
        if column in columns:
            missing[column] = missing[column] | (columns[column] == 0).to_numpy()
    miss = pd.DataFrame(missing, index=cells.index)[used]
    drop = miss.any(axis=1).to_numpy()
    rows_read = len(cells)
    if drop.any():
        if adapter.drop_note:
            notes.append(adapter.drop_note(miss, cells, rows_read, source))
        else:
            notes.append(_drop_note(source, entry, miss, used, rows_read))
    if codings:
        notes.append(_coding_note(source, entry, codings, used))
    keep = ~drop
    frame = pd.concat(
        [*(s[keep] for s in extra.values())]
        + [pd.DataFrame({c: columns[c][keep] for c in inputs + outputs})],
        axis=1,
    ).reset_index(drop=True)
    return RealData(
        name=name,
        inputs=inputs,
        outputs=outputs,
        frame=frame,
        rows_read=rows_read,
        rows_dropped=int(drop.sum()),
        notes=notes,
    )


def parse_air(raw: bytes, source: str) -> RealData:
    """Nanjing daily air quality: inputs PM10, CO, SO2, NO2 -> outputs PM2.5, O3_8h.

    A 0 in any pollutant column is the export's code for a missing value, so the row is dropped
    and counted. Dates must be ISO ``YYYY-MM-DD`` and unique. The raw GBK export (short Chinese
    header, CR CR LF line ends) is read to the same frame as the clean file; see
    `_restore_quality` for when the missing header field is restored and when it is refused.
    """
    return read_data(raw, source, "air")


def parse_student(raw: bytes, source: str) -> RealData:
    """Student exams: 4 categorical inputs coded by `STUDENT_CODING` -> 3 scores (K=3).

    ``gender`` is read when present but not used. Nothing is dropped: an unknown category, a
    non-numeric score or a score outside 0..100 is a `DataFormatError`.
    """
    return read_data(raw, source, "student")


PARSERS = {"air": parse_air, "student": parse_student}

# Where a user without the files obtains them (they are never part of the repository).
OBTAIN = {
    "nanjing_air_daily.csv": "the aqistudy.cn history pages (https://www.aqistudy.cn/historydata/, "
    "Nanjing, daily), saved as CSV with header date,AQI,quality,PM2.5,PM10,SO2,CO,NO2,O3_8h",
    "nanjing_air_daily_raw_gbk.csv": "the aqistudy.cn history pages (the raw GBK export)",
    "student_performance_exams.csv": "Kaggle: https://www.kaggle.com/datasets/rkiattisak/"
    "student-performance-in-mathematics",
}
