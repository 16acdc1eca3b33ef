"""Reading comment files (CSV, TSV, or .txt with one comment a line): what a file is, and its rows in chunks.

Forgiving where a user would expect it, and it says what it guessed; strict where a guess would be wrong:

- **Binary files are refused by content**, whatever their name: PDFs, images, archives, Office and SQLite files
  (by their magic bytes), and anything with NUL bytes or many control characters.
- **Encoding**: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252 unless the bytes read clearly
  better in another code page (Cyrillic, Greek, Japanese...). The notes always say which encoding was used.
- **Line endings**: LF, CRLF and CR-only (old Mac) files read the same; quoted cells may hold any of them.
- **Header**: detected (a first line of column names vs. a first line that is already a comment); the caller may
  say (``header=True/False``). A file read without a header gets columns ``text`` or ``column_1..n`` and a note.
- **Rows that do not parse** (a wrong number of fields, e.g. another delimiter) are skipped, counted and reported
  with their line numbers; they are never scored as empty text. Blank lines are skipped, except between the rows
  of a one-column file, where a blank line is an empty cell (as pandas and spreadsheets write one).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from toxic.errors import InputError

TEXT_NAMES = (
    "text",
    "comment",
    "comment_text",
    "comment_body",
    "tweet",
    "body",
    "content",
    "message",
    "post",
    "review",
    "sentence",
)
SNIFF_BYTES = 64 * 1024
CHUNK_ROWS = 1_000  # rows read, scored and written at a time: bounded memory, a progress step every ~5 s
HEADER_ROWS = 50  # rows of the sample that header detection looks at
SHOWN_LINES = 10  # line numbers of skipped rows named in the summary
CP1252_MARGIN = 0.1  # Windows-1252 is kept unless another code page reads this much less chaotic

# Magic bytes of files that are not text, with what to tell the user.
MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"PK\x03\x04", "a zip archive (or an Excel .xlsx workbook: save it as CSV)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7z archive"),
    (b"Rar!", "a RAR archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
    (b"\xd0\xcf\x11\xe0", "an Office document (.xls/.doc: save it as CSV)"),
    (b"SQLite format 3\x00", "a SQLite database"),
    (b"PAR1", "a Parquet file"),
    (b"\x7fELF", "a program"),
)
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\f\x0b\x1b")
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .()/#-]{0,40}$")  # what column names look like


@dataclass
class FileFormat:
    """How a file is read, as detected by :func:`sniff` (or set by the user)."""

    encoding: str
    delimiter: str | None  # None: one comment a line (.txt)
    columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was detected, for the user to see
    header: bool = True  # whether the first line names the columns (False: it is the first row)


@dataclass
class ReadStats:
    """What :func:`read_chunks` skipped, filled in as it reads."""

    malformed: int = 0  # rows with the wrong number of fields
    malformed_lines: list[int] = field(default_factory=list)  # the first SHOWN_LINES of them
    rejoined: int = 0  # rows of a one-column file whose extra fields were read back into the text
    expected: int = 0  # fields per row

    def skip(self, line: int) -> None:
        self.malformed += 1
        if len(self.malformed_lines) < SHOWN_LINES:
            self.malformed_lines.append(line)

    def notes(self) -> list[str]:
        notes = []
        if self.malformed:
            lines = ", ".join(map(str, self.malformed_lines)) + (
                ", ..." if self.malformed > SHOWN_LINES else ""
            )
            notes.append(
                f"{self.malformed:,} row(s) skipped, not scored: not {self.expected} fields as in the header "
                f"(another delimiter, or a stray quote?) at line(s) {lines}"
            )
        if self.rejoined:
            notes.append(
                f"{self.rejoined:,} row(s) had the delimiter inside an unquoted comment: each was read as one text"
            )
        return notes


# --- detection -------------------------------------------------------------------------------------------------


def refuse_binary(raw: bytes, name: str) -> None:
    """Raise InputError when ``raw`` (the file's first bytes) is not a text file."""
    what = next((what for magic, what in MAGIC if raw.startswith(magic)), None)
    if what is None and raw[4:8] == b"ftyp":
        what = "a video or image (MP4/HEIC)"
    if what is None and raw.startswith(b"RIFF") and raw[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        what = "an image, audio or video file"
    if what:
        raise InputError(f"{name} is {what}, not a comments file: upload a CSV, TSV or .txt file")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    head = raw[:4096]
    if b"\x00" in head or sum(head.count(b) for b in _CONTROL) > len(head) // 100:
        raise InputError(f"{name} looks like a binary file, not text: upload a CSV, TSV or .txt file")


def detect_encoding(raw: bytes) -> str:
    """The encoding of a file that starts with ``raw``: UTF-8 first, then Windows-1252 unless another code page
    reads clearly better (short samples fit many code pages equally: cp1252 is the usual one of spreadsheet
    exports that are not UTF-8)."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as e:
        if e.start > len(raw) - 4 and e.reason == "unexpected end of data":  # a character cut by the sample
            return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    western = from_bytes(raw, cp_isolation=["cp1252"]).best()
    if western is not None and (best is None or western.chaos <= best.chaos + CP1252_MARGIN):
        return "cp1252"
    if best is None:
        raise InputError(
            "the file is not UTF-8 and its encoding cannot be detected: save it as UTF-8 and retry"
        )
    return best.encoding


def _value_like(cell: str) -> bool:
    """A cell that reads like data (a number, a sentence), not like a column name."""
    cell = cell.strip()
    if not cell:
        return False
    if _is_number(cell):
        return True
    return len(cell.split()) >= 4 or len(cell) > 40 or cell[-1] in ".!?" or "://" in cell or "@" in cell


def looks_like_header(rows: list[list[str]]) -> bool:
    """Whether the first of ``rows`` names the columns. Votes per column: a usual text-column name or a short
    name over numbers says header; a number, or a sentence, says data. A tie keeps the header (the usual case)."""
    first, data = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
    votes = 0
    for j, cell in enumerate(first):
        name = cell.strip()
        if name.lower() in TEXT_NAMES:
            return True
        values = [r[j] for r in data if r[j].strip()]
        over_numbers = bool(values) and sum(map(_is_number, values)) >= 0.9 * len(values)
        if _value_like(name):
            votes -= 1
        elif over_numbers or (_WORD.match(name) and len(name.split()) <= 3):
            votes += 1
    return votes >= 0


def _is_number(cell: str) -> bool:
    try:
        float(cell.strip().replace(",", ""))
        return True
    except ValueError:
        return False


def sniff(
    path: Path | str, delimiter: str | None = None, encoding: str | None = None, header: bool | None = None
) -> FileFormat:
    """Detect encoding, delimiter and header of a comment file. Raises InputError for what cannot be read.
    ``header``: None detects whether the first line names the columns; True/False says so."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file: {path.name}")
    if path.is_dir():
        raise InputError(f"{path.name} is a directory, not a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name} is empty (0 bytes)")
    delimiter = _check_delimiter(delimiter)
    with path.open("rb") as f:
        raw = f.read(SNIFF_BYTES)
    refuse_binary(raw, path.name)
    try:
        encoding = encoding or detect_encoding(raw)
    except InputError as e:
        raise InputError(f"{path.name}: {e}") from None
    notes = [f"encoding: {_encoding_name(encoding)}"]
    text = raw.decode(encoding, errors="replace")
    if not text.strip():
        raise InputError(f"{path.name} contains only whitespace")
    if path.suffix.lower() == ".txt" and delimiter is None:
        return FileFormat(encoding=encoding, delimiter=None, columns=["text"], notes=notes, header=False)
    lines = text.splitlines()  # LF, CRLF and CR alike
    if len(raw) >= SNIFF_BYTES:
        lines = lines[:-1]  # the last line may be cut
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff("\n".join(lines[:HEADER_ROWS]), delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        if delimiter != ",":
            notes.append(f"delimiter detected: {_shown(delimiter)}")
    rows = _sample_rows(lines, delimiter)
    if not rows or all(not h.strip() for h in rows[0]):
        raise InputError(f"{path.name} has an empty first line: remove it, or put the column names there")
    if header is None:
        header = looks_like_header(rows)
        if not header:
            notes.append(
                "the first line reads as a comment, not as column names: it was scored as the first row "
                "(say the file has a header if it does)"
            )
    if header:
        columns = list(pd.io.common.dedup_names(rows[0], is_potential_multiindex=False))
        if len(set(rows[0])) != len(rows[0]):
            notes.append("duplicate column names were renamed: " + ", ".join(columns))
    else:
        n = len(rows[0])
        columns = ["text"] if n == 1 else [f"column_{i}" for i in range(1, n + 1)]
    return FileFormat(encoding=encoding, delimiter=delimiter, columns=columns, notes=notes, header=header)


def _sample_rows(lines: list[str], delimiter: str) -> list[list[str]]:
    sample = "\n".join(lines[: HEADER_ROWS * 4])
    rows = []
    try:
        for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
            if row and any(c.strip() for c in row):
                rows.append(row)
            if len(rows) == HEADER_ROWS:
                break
    except csv.Error:
        pass  # a quoted cell cut by the sample: the rows so far are enough to decide
    return rows


def _check_delimiter(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
    delimiter = named.get(delimiter.lower(), delimiter)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise InputError(f"the delimiter must be one character, e.g. ',' ';' '|' or TAB; got {delimiter!r}")
    return delimiter


def _shown(delimiter: str) -> str:
    return "TAB" if delimiter == "\t" else repr(delimiter)


def _encoding_name(encoding: str) -> str:
    names = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (with BOM)", "utf-16": "UTF-16", "cp1252": "Windows-1252"}
    name = names.get(encoding, encoding)
    return name if encoding.startswith("utf") else f"{name} (not UTF-8: check accented letters in the output)"


def pick_column(fmt: FileFormat, sample: pd.DataFrame | None = None, column: str | None = None) -> str:
    """The text column: the one asked for, else one with a usual name, else the one column that holds prose."""
    if fmt.delimiter is not None and len(fmt.columns) == 1 and fmt.header:
        other = next((d for d in ",;\t|" if d != fmt.delimiter and d in fmt.columns[0]), None)
        if other:
            raise InputError(
                f"the header {fmt.columns[0]!r} reads as one column: the file seems to use another delimiter "
                f"({_shown(other)}); pass it (--delimiter in the CLI)"
            )
    if column is not None:
        if column not in fmt.columns:
            raise InputError(f"no column {column!r}; the columns are: {', '.join(map(repr, fmt.columns))}")
        return column
    by_name = [c for name in TEXT_NAMES for c in fmt.columns if c.strip().lower() == name]
    if by_name:
        return by_name[0]
    if len(fmt.columns) == 1:
        return fmt.columns[0]
    if sample is not None and len(sample):
        prose = {}
        for c in fmt.columns:
            values = sample[c].astype(str)
            words = values.str.split().str.len().mean()
            numeric = pd.to_numeric(values, errors="coerce").notna().mean()
            if words >= 3 and numeric < 0.5:
                prose[c] = words
        if len(prose) == 1 or (
            len(prose) > 1 and sorted(prose.values())[-1] > 2 * sorted(prose.values())[-2]
        ):
            return max(prose, key=prose.get)
    hint = " The file may use another delimiter: pass it explicitly." if len(fmt.columns) == 1 else ""
    raise InputError(
        f"cannot tell which column holds the text; columns are: {', '.join(map(repr, fmt.columns))}. "
        f"Choose one (--column NAME in the CLI).{hint}"
    )


# --- reading ---------------------------------------------------------------------------------------------------


def read_chunks(
    path: Path | str, fmt: FileFormat, chunk_rows: int = CHUNK_ROWS, stats: ReadStats | None = None
) -> Iterator[pd.DataFrame]:
    """The file as frames of strings (empty cells are ""), ``chunk_rows`` rows at a time. Rows with the wrong
    number of fields are left out and counted in ``stats``."""
    path = Path(path)
    stats = stats if stats is not None else ReadStats()
    stats.expected = len(fmt.columns)
    # newline="": the csv module sees LF, CRLF and CR line ends as they are, inside quoted cells too.
    with path.open(encoding=fmt.encoding, errors="replace", newline="") as f:
        if fmt.delimiter is None:
            rows = ([line.rstrip("\r\n")] for line in f)
        else:
            rows = _parsed_rows(f, fmt, stats, path.name)
        chunk: list[list[str]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == chunk_rows:
                yield pd.DataFrame(chunk, columns=fmt.columns, dtype=object)
                chunk = []
        if chunk:
            yield pd.DataFrame(chunk, columns=fmt.columns, dtype=object)


def _parsed_rows(f, fmt: FileFormat, stats: ReadStats, name: str) -> Iterator[list[str]]:
    reader = csv.reader(f, delimiter=fmt.delimiter)
    n = len(fmt.columns)
    first = fmt.header
    blanks, started = 0, False  # blank lines seen since the last row; whether a row was seen
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise InputError(f"{name} is not a well-formed CSV at line {reader.line_num}: {e}") from None
        if not row or (len(row) == 1 and not row[0].strip()):
            # One column: a blank line between rows is an empty cell (how pandas and spreadsheets write one);
            # blank lines at the end are not. More columns: a blank line is no row.
            blanks += n == 1 and started
            continue
        yield from [[""]] * blanks
        blanks, started = 0, True
        if first:  # the header line
            first = False
            continue
        if len(row) == n:
            yield row
        elif n == 1:  # one comment a line with the delimiter inside it: the whole line is the text
            stats.rejoined += 1
            yield [fmt.delimiter.join(row)]
        else:
            stats.skip(reader.line_num)
