"""The write-ahead log: segment files of framed records, each ``length | crc32 | seq | body``.

A record is appended (and fsynced per the policy) before its write is acknowledged. On
replay a torn or garbled tail of the last segment, which a crash mid-append leaves, is
truncated; damage anywhere else is reported as corruption. Segments roll over at each
snapshot so that segments fully covered by a snapshot can be deleted.
"""

from __future__ import annotations

import itertools
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

from abi.vectors.errors import StorageCorrupt

FsyncPolicy = Literal["always", "batch", "never"]
_HEADER = struct.Struct("<IIQ")  # body length, crc32 of (seq + body), sequence number
MAX_RECORD = 1 << 30


def _segment_name(first_seq: int) -> str:
    return f"{first_seq:020d}.wal"


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RecordLog(Protocol):
    """Where a collection's records go before they are applied: this module's file log, or
    :class:`~abi.vectors.shared_log.SharedLog` in the database (``shared``: other nodes append
    to it too)."""

    shared: bool

    def append(self, bodies: list[bytes]) -> int: ...

    def replay(self, after_seq: int) -> Iterator[tuple[int, bytes]]: ...

    def rotate(self) -> None: ...

    def drop_through(self, seq: int) -> None: ...

    def size_bytes(self) -> int: ...

    def close(self) -> None: ...


class WriteAheadLog:
    """Append-only records with increasing sequence numbers, in rolling segments."""

    shared = False

    def __init__(self, directory: Path, fsync: FsyncPolicy = "batch") -> None:
        self.dir = directory
        self.fsync = fsync
        self.dir.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO | None = None
        self.last_seq = 0

    def segments(self) -> list[tuple[int, Path]]:
        """(first sequence number, path) of every segment, oldest first."""
        found = []
        for path in self.dir.glob("*.wal"):
            try:
                found.append((int(path.stem), path))
            except ValueError:
                continue
        return sorted(found)

    def replay(self, after_seq: int) -> Iterator[tuple[int, bytes]]:
        """Yield (seq, body) of every record with ``seq > after_seq``; truncates a torn tail.

        Must be called once, before the first append."""
        segments = self.segments()
        self.last_seq = after_seq
        for index, (_first, path) in enumerate(segments):
            last = index == len(segments) - 1
            for seq, body in self._read_segment(path, last):
                if seq > after_seq:
                    self.last_seq = seq
                    yield seq, body

    def _read_segment(self, path: Path, last: bool) -> Iterator[tuple[int, bytes]]:
        with path.open("rb") as handle:
            data = handle.read()
        offset = 0
        while offset < len(data):
            end = offset + _HEADER.size
            if end > len(data):
                break
            length, crc, seq = _HEADER.unpack_from(data, offset)
            body = data[end : end + length]
            if length > MAX_RECORD or len(body) != length or _crc(seq, body) != crc:
                break
            yield seq, body
            offset = end + length
        if offset < len(data):
            if not last:
                raise StorageCorrupt(
                    f"write-ahead log segment {path} is damaged at byte {offset}; "
                    "restore the collection from a backup"
                )
            with path.open("r+b") as handle:
                handle.truncate(offset)
                handle.flush()
                os.fsync(handle.fileno())

    def _open_for_append(self) -> BinaryIO:
        if self._file is None:
            segments = self.segments()
            path = segments[-1][1] if segments else self.dir / _segment_name(self.last_seq + 1)
            self._file = path.open("ab")
            if not segments:
                fsync_dir(self.dir)
        return self._file

    def append(self, bodies: list[bytes]) -> int:
        """Append records (one per body) and make them durable per the policy; returns the
        sequence number of the last one."""
        handle = self._open_for_append()
        frames = []
        for body in bodies:
            self.last_seq += 1
            frames.append(_HEADER.pack(len(body), _crc(self.last_seq, body), self.last_seq))
            frames.append(body)
            if self.fsync == "always":
                handle.write(b"".join(frames))
                handle.flush()
                os.fsync(handle.fileno())
                frames = []
        if frames:
            handle.write(b"".join(frames))
            handle.flush()
            if self.fsync == "batch":
                os.fsync(handle.fileno())
        return self.last_seq

    def rotate(self) -> None:
        """Start a new segment for the records after ``last_seq``."""
        self.close()
        path = self.dir / _segment_name(self.last_seq + 1)
        if not path.exists():
            self._file = path.open("ab")
            fsync_dir(self.dir)

    def drop_through(self, seq: int) -> None:
        """Delete segments whose every record has a sequence number <= ``seq``."""
        segments = self.segments()
        for (_first, path), (next_first, _next) in itertools.pairwise(segments):
            if next_first - 1 <= seq:
                path.unlink(missing_ok=True)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for _f, p in self.segments())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _crc(seq: int, body: bytes) -> int:
    return zlib.crc32(body, zlib.crc32(struct.pack("<Q", seq))) & 0xFFFFFFFF
