"""Real-data parsers: small in-memory files, then the shared data files when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asp.data.realdata import (
    AIR_INPUTS,
    AIR_OUTPUTS,
    AIR_POLLUTANTS,
    EXPECTED_SHA256,
    STUDENT_CODING,
    STUDENT_INPUTS,
    STUDENT_OUTPUTS,
    DataFormatError,
    check_columns,
    header_of,
    parse_air,
    parse_student,
    read_data,
    report_note,
    resolve_entry,
    sha256_hex,
)

AIR_HEADER = "date,AQI,quality,PM2.5,PM10,SO2,CO,NO2,O3_8h"
AIR_ROWS = [
    "2013-12-02,180,中度污染,136,253,87,2,120,25",
    "2013-12-03,234,重度污染,184,297,108,2.5,133,17",
    "2013-12-04,0,无,0,0,51,2.5,130,43",  # zero-coded PM2.5 + PM10
    "2013-12-05,328,严重污染,278,386,52,2.3,110,0",  # zero-coded O3_8h
    "2013-12-06,319,严重污染,269,389,61,2.2,92,36",
]


def air_text(header: str = AIR_HEADER, rows: list[str] | None = None) -> str:
    return "\n".join([header, *(AIR_ROWS if rows is None else rows)]) + "\n"


def gbk_variant(text: str) -> bytes:
    """The raw export's shape: Chinese short header (no quality), GBK, CR CR LF."""
    lines = text.rstrip("\n").split("\n")
    lines[0] = "日期,AQI,PM2.5,PM10,SO2,CO,NO2,O3_8h"
    return "".join(line + "\r\r\n" for line in lines).encode("gbk")


STUDENT_HEADER = (
    '"gender","race/ethnicity","parental level of education","lunch",'
    '"test preparation course","math score","reading score","writing score"'
)
STUDENT_ROWS = [
    '"female","group D","some college","standard","completed","59","70","78"',
    '"male","group A","master\'s degree","free/reduced","none","96","93","87"',
    '"female","group E","some high school","standard","none","57","76","77"',
]


def student_bytes(rows: list[str] | None = None, header: str = STUDENT_HEADER) -> bytes:
    return ("\n".join([header, *(STUDENT_ROWS if rows is None else rows)]) + "\n").encode()


# --- air, in memory -------------------------------------------------------------------------


def test_air_good_file_drops_and_counts_zero_coded_rows() -> None:
    data = parse_air(air_text().encode(), "air.csv")
    assert data.name == "air"
    assert data.inputs == AIR_INPUTS and data.outputs == AIR_OUTPUTS
    assert (data.rows_read, data.rows_dropped, len(data.frame)) == (5, 2, 3)
    assert list(data.frame.columns) == ["date", *AIR_INPUTS, *AIR_OUTPUTS]
    assert list(data.frame["date"].dt.strftime("%Y-%m-%d")) == [
        "2013-12-02",
        "2013-12-03",
        "2013-12-06",
    ]
    assert data.X.dtype == np.float64 and data.X.shape == (3, 4)
    np.testing.assert_array_equal(data.X[1], [297.0, 2.5, 108.0, 133.0])  # PM10, CO, SO2, NO2
    np.testing.assert_array_equal(data.Y[:, 0], [136.0, 184.0, 269.0])  # PM2.5
    np.testing.assert_array_equal(data.Y[:, 1], [25.0, 17.0, 36.0])  # O3_8h
    assert data.notes == [
        "air.csv: dropped 2 of 5 rows with a 0 (missing) in a pollutant column: "
        "PM2.5 1, PM10 1, O3_8h 1 (zero patterns: AQI+PM2.5+PM10 1, O3_8h 1)"
    ]


def test_air_gbk_crcrlf_short_header_gives_identical_frame() -> None:
    clean = parse_air(air_text().encode(), "air.csv")
    raw = gbk_variant(air_text())
    assert b"\r\r\n" in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    messy = parse_air(raw, "air_gbk.csv")
    pd.testing.assert_frame_equal(messy.frame, clean.frame)
    assert (messy.rows_read, messy.rows_dropped) == (clean.rows_read, clean.rows_dropped)
    assert "air_gbk.csv: decoded as GBK" in messy.notes
    assert any("header has 8 fields, rows have 9" in n for n in messy.notes)


def test_air_crlf_and_bom_are_accepted() -> None:
    clean = parse_air(air_text().encode(), "air.csv")
    crlf = ("\ufeff" + air_text()).replace("\n", "\r\n").encode("utf-8")
    pd.testing.assert_frame_equal(parse_air(crlf, "air_crlf.csv").frame, clean.frame)


def test_air_short_header_with_extra_field_elsewhere_is_refused() -> None:
    # The extra (label) field sits after PM2.5 instead of after AQI: restoring "quality" after
    # AQI would shift every pollutant by one column, so the file must be refused.
    rows = [
        "2013-12-02,180,136,中度污染,253,87,2,120,25",
        "2013-12-03,234,184,重度污染,297,108,2.5,133,17",
    ]
    with pytest.raises(DataFormatError) as err:
        parse_air(gbk_variant(air_text(rows=rows)), "bad_gbk.csv")
    msg = str(err.value)
    assert msg.startswith("bad_gbk.csv: the header (row 1) has 8 fields but every data row has 9")
    assert "row 2 field 3 is '136', not a quality label" in msg


def test_air_short_header_with_unknown_names_is_refused() -> None:
    text = "day,AQI,PM2.5,PM10,SO2,CO,NO2,O3_8h\n" + "\n".join(AIR_ROWS) + "\n"
    with pytest.raises(
        DataFormatError,
        match=r"air\.csv: the header \(row 1\) has 8 fields but "
        r"every data row has 9.*ambiguous",
    ):
        parse_air(text.encode(), "air.csv")


def test_air_ragged_row_names_row_and_counts() -> None:
    rows = [*AIR_ROWS[:2], AIR_ROWS[2] + ",7", *AIR_ROWS[3:]]
    with pytest.raises(DataFormatError) as err:
        parse_air(air_text(rows=rows).encode(), "air.csv")
    assert str(err.value).startswith("air.csv: row 4 has 10 fields but the header (row 1) has 9")


def test_air_missing_column() -> None:
    header = AIR_HEADER.replace(",NO2", "")
    rows = [r.rsplit(",", 2)[0] + "," + r.rsplit(",", 1)[1] for r in AIR_ROWS]
    with pytest.raises(DataFormatError) as err:
        parse_air(air_text(header, rows).encode(), "air.csv")
    msg = str(err.value)
    assert msg.startswith("air.csv: row 1 (header): missing required column(s) ['NO2']")


def test_air_non_numeric_cell_names_row_column_and_value() -> None:
    rows = list(AIR_ROWS)
    rows[3] = rows[3].replace(",52,", ",n/a,")
    with pytest.raises(DataFormatError) as err:
        parse_air(air_text(rows=rows).encode(), "air.csv")
    assert str(err.value) == (
        "air.csv: row 5, column 'SO2': 'n/a' is not a number (1 such cell(s) in this column)"
    )


def test_air_empty_cell_is_reported_not_silently_missing() -> None:
    rows = list(AIR_ROWS)
    rows[0] = rows[0].replace(",2,", ",,")
    with pytest.raises(DataFormatError, match=r"air\.csv: row 2, column 'CO': '' is not a number"):
        parse_air(air_text(rows=rows).encode(), "air.csv")


@pytest.mark.parametrize("raw", [b"", b"  \r\n\r\n"])
def test_air_empty_file(raw: bytes) -> None:
    with pytest.raises(DataFormatError, match=r"^air\.csv: file is empty$"):
        parse_air(raw, "air.csv")


def test_air_header_only() -> None:
    with pytest.raises(DataFormatError, match=r"^air\.csv: header only, no data rows$"):
        parse_air((AIR_HEADER + "\n").encode(), "air.csv")


def test_air_duplicate_dates_name_both_rows() -> None:
    rows = list(AIR_ROWS)
    rows[4] = rows[4].replace("2013-12-06", "2013-12-03")
    with pytest.raises(DataFormatError) as err:
        parse_air(air_text(rows=rows).encode(), "air.csv")
    assert str(err.value) == "air.csv: rows 3 and 6, column 'date': duplicate date 2013-12-03"


def test_air_unparsable_date() -> None:
    rows = list(AIR_ROWS)
    rows[1] = rows[1].replace("2013-12-03", "2013-13-03")
    with pytest.raises(DataFormatError) as err:
        parse_air(air_text(rows=rows).encode(), "air.csv")
    assert str(err.value) == "air.csv: row 3, column 'date': '2013-13-03' is not a YYYY-MM-DD date"


def test_air_undecodable_bytes() -> None:
    with pytest.raises(DataFormatError, match=r"^air\.csv: neither UTF-8 .* nor GBK"):
        parse_air(AIR_HEADER.encode() + b"\n\xff\xff\xff\n", "air.csv")


def test_air_row_numbers_count_blank_lines() -> None:
    text = air_text().replace(AIR_ROWS[1] + "\n", AIR_ROWS[1] + "\n\n")
    text = text.replace(",52,", ",x,")
    with pytest.raises(DataFormatError, match=r"^air\.csv: row 6, column 'SO2': 'x'"):
        parse_air(text.encode(), "air.csv")


# --- student, in memory ---------------------------------------------------------------------


def test_student_good_file_codes_inputs() -> None:
    data = parse_student(student_bytes(), "students.csv")
    assert data.name == "student"
    assert data.inputs == STUDENT_INPUTS and data.outputs == STUDENT_OUTPUTS
    assert (data.rows_read, data.rows_dropped) == (3, 0)
    np.testing.assert_array_equal(data.X, [[3, 2, 1, 1], [0, 5, 0, 0], [4, 0, 1, 0]])
    np.testing.assert_array_equal(data.Y, [[59, 70, 78], [96, 93, 87], [57, 76, 77]])
    assert data.X.dtype == np.float64 and data.Y.dtype == np.float64


def test_student_unknown_category_names_file_row_column_value() -> None:
    rows = list(STUDENT_ROWS)
    rows[1] = rows[1].replace("group A", "group F")
    with pytest.raises(DataFormatError) as err:
        parse_student(student_bytes(rows), "students.csv")
    assert str(err.value).startswith(
        "students.csv: row 3, column 'race/ethnicity': unknown category 'group F'; expected one "
        "of ['group A',"
    )


def test_student_non_numeric_score() -> None:
    rows = list(STUDENT_ROWS)
    rows[2] = rows[2].replace('"76"', '"seventy"')
    with pytest.raises(DataFormatError) as err:
        parse_student(student_bytes(rows), "students.csv")
    assert str(err.value).startswith(
        "students.csv: row 4, column 'reading score': 'seventy' is not a number"
    )


def test_student_score_out_of_range() -> None:
    rows = list(STUDENT_ROWS)
    rows[0] = rows[0].replace('"78"', '"178"')
    with pytest.raises(DataFormatError, match=r"row 2, column 'writing score': score '178'"):
        parse_student(student_bytes(rows), "students.csv")


def test_student_missing_column() -> None:
    header = STUDENT_HEADER.replace(',"lunch"', "")
    rows = [r.replace(',"standard"', "").replace(',"free/reduced"', "") for r in STUDENT_ROWS]
    with pytest.raises(DataFormatError) as err:
        parse_student(student_bytes(rows, header), "students.csv")
    assert str(err.value).startswith(
        "students.csv: row 1 (header): missing required column(s) ['lunch']"
    )


def test_student_gender_is_not_required() -> None:
    header = STUDENT_HEADER.replace('"gender",', "")
    rows = [r.split(",", 1)[1] for r in STUDENT_ROWS]
    data = parse_student(student_bytes(rows, header), "students.csv")
    assert data.X.shape == (3, 4)


def test_student_short_header_is_refused_not_repaired() -> None:
    header = STUDENT_HEADER.replace('"gender",', "")
    with pytest.raises(DataFormatError) as err:
        parse_student(student_bytes(header=header), "students.csv")
    assert str(err.value).startswith(
        "students.csv: row 2 has 8 fields but the header (row 1) has 7"
    )


def test_sha256_hex() -> None:
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# --- the shared data files ------------------------------------------------------------------

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data folder {DATA} not present")


def read(name: str) -> bytes:
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path.read_bytes()


@needs_data
@pytest.mark.parametrize("name", sorted(EXPECTED_SHA256))
def test_shared_file_checksums(name: str) -> None:
    assert sha256_hex(read(name)) == EXPECTED_SHA256[name]


@needs_data
def test_shared_air_clean() -> None:
    data = parse_air(read("nanjing_air_daily.csv"), "nanjing_air_daily.csv")
    assert (data.rows_read, data.rows_dropped, len(data.frame)) == (2028, 26, 2002)
    assert data.X.shape == (2002, 4) and data.Y.shape == (2002, 2)
    assert np.all(data.X > 0) and np.all(data.Y > 0)
    assert data.frame["date"].iloc[0] == pd.Timestamp("2013-12-02")
    assert data.frame["date"].iloc[-1] == pd.Timestamp("2019-06-21")
    assert data.frame["date"].is_monotonic_increasing
    # README: O3_8h 12, AQI+PM2.5+PM10 9, PM2.5+PM10 4, AQI+CO+O3_8h 1 (26 rows).
    assert data.notes == [
        "nanjing_air_daily.csv: dropped 26 of 2028 rows with a 0 (missing) in a pollutant "
        "column: PM2.5 13, PM10 13, CO 1, O3_8h 13 (zero patterns: O3_8h 12, AQI+PM2.5+PM10 9, "
        "PM2.5+PM10 4, AQI+CO+O3_8h 1)"
    ]


@needs_data
def test_shared_air_gbk_gives_identical_frame() -> None:
    clean = parse_air(read("nanjing_air_daily.csv"), "nanjing_air_daily.csv")
    messy = parse_air(read("nanjing_air_daily_raw_gbk.csv"), "nanjing_air_daily_raw_gbk.csv")
    pd.testing.assert_frame_equal(messy.frame, clean.frame)
    assert (messy.rows_read, messy.rows_dropped) == (2028, 26)
    assert messy.notes[:3] == [
        "nanjing_air_daily_raw_gbk.csv: decoded as GBK",
        "nanjing_air_daily_raw_gbk.csv: line ends CR CR LF read as one line end each",
        "nanjing_air_daily_raw_gbk.csv: header has 8 fields, rows have 9; restored the missing "
        "['quality'] column in the position the clean file has it",
    ]


@needs_data
def test_shared_student() -> None:
    data = parse_student(read("student_performance_exams.csv"), "student_performance_exams.csv")
    assert (data.rows_read, data.rows_dropped) == (1000, 0)
    assert data.X.shape == (1000, 4) and data.Y.shape == (1000, 3)
    for j, column in enumerate(STUDENT_INPUTS):
        codes = data.X[:, j]
        assert codes.min() == 0 and codes.max() == max(STUDENT_CODING[column].values())
        assert np.array_equal(codes, np.round(codes))
    assert data.Y.min() >= 0 and data.Y.max() <= 100
    # Category counts in the file (e.g. lunch: standard 660, free/reduced 340).
    assert int((data.X[:, 2] == 1).sum()) == 660
    assert int((data.X[:, 3] == 1).sum()) == 344  # test preparation completed
    assert int((data.X[:, 1] == 5).sum()) == 75  # master's degree


# --- any data set declared in the config (read_data) ----------------------------------------

OWN = {
    "file": "own.csv",
    "inputs": ["soil", "site", "rain", "sun"],
    "outputs": ["yield", "protein"],
    "categorical": {"soil": ["sand", "loam", "clay"], "site": "first_seen"},
    "missing": {"zero_in": ["sun"]},
}
OWN_ROWS = [
    "soil,site,rain,sun,yield,protein,note",
    "loam,hill,10.5,3,7.1,0.2,a",
    "clay,vale,12,4,8.0,0.3,",  # an empty cell in an unused column: kept
    "sand,hill,,5,6.0,0.1,b",  # empty: missing
    "sand,coast,9,2,NA,0.4,c",  # NA: missing
    "clay,vale,11,0,7.5,0.2,d",  # 0 in sun, which codes missing
    "sand,ridge,8,6,5.5,0.5,e",
]


def own_bytes(rows: list[str] | None = None) -> bytes:
    return ("\n".join(OWN_ROWS if rows is None else rows) + "\n").encode()


def test_own_data_set_codes_categories_and_drops_missing_rows() -> None:
    data = read_data(own_bytes(), "own.csv", "own", OWN)
    assert data.name == "own" and data.inputs == OWN["inputs"]
    assert (data.rows_read, data.rows_dropped, len(data.frame)) == (6, 3, 3)
    assert list(data.frame.columns) == [*OWN["inputs"], *OWN["outputs"]]
    # soil in the given order; site in order of first appearance over every row read
    np.testing.assert_array_equal(data.X, [[1, 0, 10.5, 3], [2, 1, 12, 4], [0, 3, 8, 6]])
    np.testing.assert_array_equal(data.Y, [[7.1, 0.2], [8.0, 0.3], [5.5, 0.5]])
    assert data.notes == [
        "own.csv: dropped 3 of 6 rows with a missing cell (one of ['', 'NA'], or 0 in "
        "['sun']) in a used column: rain 1, sun 1, yield 1",
        "own.csv: inputs coded as ordered integers: soil: sand=0, loam=1, clay=2; site (in "
        "order of first appearance): hill=0, vale=1, coast=2, ridge=3",
    ]


def test_own_data_set_missing_values_are_configurable() -> None:
    rows = [r.replace(",NA,", ",-,") for r in OWN_ROWS]
    with pytest.raises(DataFormatError, match=r"row 5, column 'yield': '-' is not a number"):
        read_data(own_bytes(rows), "own.csv", "own", OWN)
    entry = OWN | {"missing": {"values": ["-", ""], "zero_in": []}}
    data = read_data(own_bytes(rows), "own.csv", "own", entry)
    assert (data.rows_read, data.rows_dropped) == (6, 2)  # the 0 in sun is a value now
    assert 0.0 in data.X[:, 3]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "clay,vale,12",
            "clay,vale,twelve",
            "own.csv: row 3, column 'rain': 'twelve' is not a number",
        ),
        ("clay,vale,12", "clay,vale,inf", "own.csv: row 3, column 'rain': 'inf' is not a number"),
        (
            "sand,ridge",
            "peat,ridge",
            "own.csv: row 7, column 'soil': unknown category 'peat'; expected one of "
            "['sand', 'loam', 'clay']",
        ),
    ],
)
def test_own_data_set_bad_cell_names_row_and_column(old: str, new: str, message: str) -> None:
    rows = [r.replace(old, new) for r in OWN_ROWS]
    with pytest.raises(DataFormatError) as err:
        read_data(own_bytes(rows), "own.csv", "own", OWN)
    assert str(err.value).startswith(message)


def test_a_misspelt_column_is_refused_listing_the_files_columns() -> None:
    entry = OWN | {"outputs": ["yeild", "protein"]}
    header = header_of(own_bytes(), "own.csv")
    assert header == ["soil", "site", "rain", "sun", "yield", "protein", "note"]
    with pytest.raises(DataFormatError) as err:
        check_columns("own", entry, header, "own.csv")
    assert str(err.value) == (
        "own.csv: case_studies.sets.own.outputs: no column 'yeild' in the file; its columns "
        f"are {header}"
    )
    with pytest.raises(DataFormatError, match=r"missing required column\(s\) \['yeild'\]"):
        read_data(own_bytes(), "own.csv", "own", entry)
    check_columns("own", OWN, header, "own.csv")  # the right names pass


def test_builtin_entries_merge_with_the_config() -> None:
    air = resolve_entry("air", {"file": "nanjing_air_daily_raw_gbk.csv"})
    assert air["file"] == "nanjing_air_daily_raw_gbk.csv" and air["inputs"] == AIR_INPUTS
    assert air["missing"] == {"values": [], "zero_in": AIR_POLLUTANTS}
    assert resolve_entry("student")["categorical"]["lunch"] == ["free/reduced", "standard"]
    own = resolve_entry("own", {"file": "own.csv"})
    assert own["missing"] == {"values": ["", "NA"], "zero_in": []} and own["output"] == "sigmoid"
    # the raw export's Chinese header reads as the clean one, so its columns check out
    header = header_of(gbk_variant(air_text()), "air_gbk.csv", "air")
    assert header[0] == "date" and "quality" not in header
    check_columns("air", {"file": "x.csv"}, header, "air_gbk.csv")
    with pytest.raises(DataFormatError, match=r"case_studies\.sets\.air\.file: no column 'date'"):
        check_columns("air", {}, ["day", *header[1:]], "air.csv")


def test_builtin_entries_read_as_their_parsers() -> None:
    air = read_data(air_text().encode(), "air.csv", "air", {"file": "air.csv"})
    pd.testing.assert_frame_equal(air.frame, parse_air(air_text().encode(), "air.csv").frame)
    student = read_data(student_bytes(), "s.csv", "student", {"file": "s.csv"})
    np.testing.assert_array_equal(student.X, parse_student(student_bytes(), "s.csv").X)


def test_the_air_data_set_says_how_its_window_differs_from_the_papers():
    provenance = {
        "first_date": "2014-01-01",
        "last_date": "2019-06-21",
        "rows_read": 2000,
        "rows_used": 1990,
        "rows_dropped": 10,
    }
    note = report_note("air", provenance)
    assert note.startswith("Our Nanjing series covers 2014-01-01 … 2019-06-21: 2000 days, 1990")
    assert "The paper used 3,274 days" in note
    assert report_note("student", provenance) is None and report_note("farm", {}) is None
