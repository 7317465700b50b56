"""The content-addressed quarantine: a landing file's bytes are read once, into a private copy.

``admit(source, folder)`` streams the landing file once: it hashes the bytes (sha256), checks
their encoding (ASCII, UTF-8, NUL) and writes them to ``folder/<sha256><suffix>``, read-only. The
guard scans that copy and the loader loads that copy, so what is loaded is byte for byte what was
scanned and hashed, even when the landing file is replaced while the scan runs (a landing file
is read exactly once, by ``admit``).

The folder lives outside the landing dir (next to the warehouse, see
``pipelines.ingest.quarantine_folder``); copies of rejected files are deleted right after their
scan, copies of accepted files are kept while the file is current.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Quarantined:
    """A landing file admitted to the quarantine.

    Attributes:
        source: the landing file (never read again after ``admit``).
        path: the private copy, ``<folder>/<sha256><suffix>``: scan and load read this.
        sha256: hex digest of the bytes that were copied.
        size: bytes.
        ascii: True when every byte is < 0x80 (normalisation can be skipped).
        utf8: True when the bytes decode as UTF-8.
        nul: True when a NUL byte occurs (binary file).
        blank_lines: True when an empty line occurs (a CSV reader skips it, a spreadsheet shows
            it as a row: ``pipelines.guard.read.row_numbers`` then counts lines).
    """

    source: Path
    path: Path
    sha256: str
    size: int
    ascii: bool
    utf8: bool
    nul: bool
    blank_lines: bool = False

    @property
    def name(self) -> str:
        """The landing file's name (as found in its folder; may be unsafe to print)."""
        return self.source.name

    @property
    def suffix(self) -> str:
        """``.csv`` or ``.parquet`` (lower case), as the landing file's name says."""
        return self.source.suffix.lower()

    def discard(self) -> None:
        """Delete the copy (a rejected file's bytes do not stay in the quarantine)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def admit(source: Path, folder: Path) -> Quarantined:
    """Copy ``source`` into ``folder`` under its sha256, reading its bytes once.

    Args:
        source: a landing file.
        folder: the quarantine folder (created if missing).

    Returns:
        The copy and what one pass over the bytes found.

    Raises:
        OSError: the source cannot be read or the copy cannot be written.
    """
    source = Path(source)
    folder.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    size, is_ascii, utf8, nul, blank = 0, True, True, False, False
    tail = b""  # the last bytes of the previous chunk: an empty line may span two chunks
    fd, partial = tempfile.mkstemp(prefix=".incoming-", dir=folder)
    try:
        with source.open("rb") as src, os.fdopen(fd, "wb") as dst:
            while chunk := src.read(CHUNK_BYTES):
                dst.write(chunk)
                sha.update(chunk)
                size += len(chunk)
                nul = nul or b"\x00" in chunk
                blank = blank or any(
                    gap in text
                    for gap in (b"\n\n", b"\n\r\n")
                    for text in (chunk, tail + chunk[:2])
                )
                tail = chunk[-2:]
                if is_ascii and chunk.isascii():
                    continue
                is_ascii = False
                if utf8:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        utf8 = False
            if utf8:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    utf8 = False
        digest = sha.hexdigest()
        target = folder / f"{digest}{source.suffix.lower()}"
        os.chmod(partial, 0o444)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    return Quarantined(source, target, digest, size, is_ascii, utf8, nul, blank)


@contextlib.contextmanager
def private_folder() -> Iterator[Path]:
    """A temporary quarantine folder, deleted with its copies on exit (for scans that load
    nothing, such as ``clearcount scan``)."""
    with tempfile.TemporaryDirectory(prefix="clearcount-quarantine-") as tmp:
        yield Path(tmp)


def keep_only(folder: Path, digests: set[str]) -> None:
    """Delete every copy in ``folder`` whose sha256 is not in ``digests`` (and stray partial
    copies)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.is_file() and path.name.split(".")[0] not in digests:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
