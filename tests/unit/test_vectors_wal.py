"""The write-ahead log: framing, replay, torn tails, rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from abi.vectors.errors import StorageCorrupt
from abi.vectors.wal import WriteAheadLog


def _flip_byte(path: Path, offset: int) -> None:
    """Garble one byte of a file on disk."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _write(path: Path, bodies: list[bytes]) -> WriteAheadLog:
    wal = WriteAheadLog(path, "batch")
    list(wal.replay(0))
    wal.append(bodies)
    wal.close()
    return wal


def test_records_replay_in_order_with_sequence_numbers(tmp_path: Path) -> None:
    _write(tmp_path, [b"one", b"two", b"three"])
    assert list(WriteAheadLog(tmp_path).replay(0)) == [(1, b"one"), (2, b"two"), (3, b"three")]


def test_replay_skips_records_covered_by_a_snapshot(tmp_path: Path) -> None:
    _write(tmp_path, [b"a", b"b", b"c"])
    assert [seq for seq, _ in WriteAheadLog(tmp_path).replay(2)] == [3]


@pytest.mark.parametrize("cut", [1, 5, 15, 17])
def test_torn_tail_is_truncated_and_appends_continue(tmp_path: Path, cut: int) -> None:
    _write(tmp_path, [b"first-record", b"second-record"])
    segment = next(tmp_path.glob("*.wal"))
    data = segment.read_bytes()
    segment.write_bytes(data[: len(data) - cut])
    wal = WriteAheadLog(tmp_path)
    assert list(wal.replay(0)) == [(1, b"first-record")]
    wal.append([b"third"])
    wal.close()
    assert list(WriteAheadLog(tmp_path).replay(0)) == [(1, b"first-record"), (2, b"third")]


def test_garbled_last_record_is_dropped(tmp_path: Path) -> None:
    _write(tmp_path, [b"good", b"will-be-garbled"])
    _flip_byte(next(tmp_path.glob("*.wal")), -3)
    assert list(WriteAheadLog(tmp_path).replay(0)) == [(1, b"good")]


def test_damage_in_an_older_segment_is_corruption(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    list(wal.replay(0))
    wal.append([b"old-1", b"old-2"])
    wal.rotate()
    wal.append([b"new"])
    wal.close()
    _flip_byte(sorted(tmp_path.glob("*.wal"))[0], -2)
    with pytest.raises(StorageCorrupt):
        list(WriteAheadLog(tmp_path).replay(0))


def test_drop_through_removes_only_covered_segments(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    list(wal.replay(0))
    wal.append([b"1", b"2"])
    wal.rotate()
    wal.append([b"3"])
    wal.drop_through(2)
    wal.close()
    assert list(WriteAheadLog(tmp_path).replay(0)) == [(3, b"3")]
