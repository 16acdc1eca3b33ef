"""Comment files that go wrong in the wild, as bytes, for every surface that takes a file (the CLI's ``toxic
score``, the Batch CSV tab, ``/score_csv``). Each file is made by the real writer of its format (``zipfile``,
``gzip``, ``sqlite3``, pyarrow, a hand-built but valid PDF and PNG), saved under a name that says ``.csv``.

    REFUSED: name -> (bytes, a piece of the one-line error)     files that must be refused by content
    ACCEPTED: name -> (bytes, rows scored, a piece of a note)   odd files that must be scored correctly
"""

from __future__ import annotations

import gzip
import io
import sqlite3
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import pandas as pd


def pdf() -> bytes:
    """A one-page PDF with a line of text, with a correct cross-reference table."""
    stream = b"BT /F1 12 Tf 72 720 Td (you are an idiot, text, comment) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png() -> bytes:
    """A valid 2x2 RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def zipped(name: str = "comments.csv", content: str = "text\nhello\n") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, content)
    return buf.getvalue()


def sqlite_db() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.db"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE comments (text TEXT)")
        conn.execute("INSERT INTO comments VALUES ('hello')")
        conn.commit()
        conn.close()
        return path.read_bytes()


def parquet() -> bytes:
    buf = io.BytesIO()
    pd.DataFrame({"text": ["hello", "you idiot"]}).to_parquet(buf)
    return buf.getvalue()


REFUSED: dict[str, tuple[bytes, str]] = {
    "pdf": (pdf(), "is a PDF document"),
    "png": (png(), "is a PNG image"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(64), "is a JPEG image"),
    "zip": (zipped(), "zip archive"),
    "xlsx": (zipped("xl/workbook.xml", "<workbook/>"), "Excel .xlsx"),
    "gzip": (gzip.compress(b"text\nhello\n"), "gzip archive"),
    "sqlite": (sqlite_db(), "SQLite database"),
    "parquet": (parquet(), "Parquet file"),
    "random": (bytes(range(256)) * 8, "binary file"),
    "nul": (b"text\nhello\x00world\n", "binary file"),
    "empty": (b"", "empty (0 bytes)"),
    "whitespace": (b"  \r\n\r\n", "only whitespace"),
    "header only": (b"id,text\n", "no rows"),
    "every row malformed": (b"id,text\n1;one\n2;two\n", "2 row(s) skipped"),
}

ACCEPTED: dict[str, tuple[bytes, int, str]] = {
    "CR-only line ends": (b"id,text\r1,hello there\r2,you are an idiot\r", 2, "encoding: UTF-8"),
    "CRLF with a quoted CR LF": (b'id,text\r\n1,"line one\r\nline two"\r\n2,ok\r\n', 2, "encoding: UTF-8"),
    "no header, one column": (
        b"you are an idiot\nhave a nice day\nwhat a lovely cat\n",
        3,
        "first line reads",
    ),
    "no header, id and text": (b"1,you are an idiot\n2,have a nice day\n", 2, "first line reads"),
    "Windows-1252": ("text\ncafé crème\n“quoted” – €5\n".encode("cp1252"), 2, "Windows-1252"),
    "UTF-8 with BOM": ("text\ncafé\n".encode("utf-8-sig"), 1, "UTF-8 (with BOM)"),
    "UTF-16 with BOM": ("text\ncafé\nhello\n".encode("utf-16"), 2, "UTF-16"),
    "wrong delimiter in one row": (b"id,text\n1,hello there\n2;this row is broken\n3,fine\n", 2, "line(s) 3"),
    "too many fields": (b"id,text\n1,hello\n2,a,b\n", 1, "1 row(s) skipped"),
    "blank lines": (b"id,text\n\n1,hello\n\n\n2,there\n", 2, "encoding: UTF-8"),
}
