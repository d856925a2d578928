"""A dataset version's Parquet files in the database, in pieces of ``CHUNK_BYTES``.

Read back one piece per query: a reader streams a file of any size with one piece in memory.
Every server process behind the database sees the same files; nothing lives on one machine's
disk.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import lru_cache

import pyarrow as pa
import pyarrow.parquet as pq

from mlcontest.contest import columnar
from mlcontest.contest.models import Dataset, DatasetChunk

# 8 MB: big enough that a 160 MB file is 20 queries, small enough for any database's row.
CHUNK_BYTES = 8 * 1024 * 1024


def save_part(dataset: Dataset, version: str, part: str, data: bytes | pa.Buffer) -> None:
    view = memoryview(data)
    for seq, start in enumerate(range(0, max(len(view), 1), CHUNK_BYTES)):
        DatasetChunk.objects.create(
            dataset=dataset,
            version=version,
            part=part,
            seq=seq,
            data=bytes(view[start : start + CHUNK_BYTES]),
        )


def drop_other_versions(dataset: Dataset) -> None:
    DatasetChunk.objects.filter(dataset=dataset).exclude(version=dataset.version).delete()


def chunk_ids(dataset_id: int, version: str, part: str) -> list[tuple[int, int]]:
    """(chunk id, size in bytes) of each piece of the file, in order."""
    from django.db.models.functions import Length

    return list(
        DatasetChunk.objects.filter(dataset_id=dataset_id, version=version, part=part)
        .order_by("seq")
        .annotate(size=Length("data"))
        .values_list("pk", "size")
    )


def read_chunk(chunk_id: int) -> bytes:
    data = DatasetChunk.objects.values_list("data", flat=True).get(pk=chunk_id)
    return bytes(data)


def iter_part(dataset_id: int, version: str, part: str) -> Iterator[bytes]:
    """The file's bytes, one piece at a time (one query each)."""
    for chunk_id, _ in chunk_ids(dataset_id, version, part):
        yield read_chunk(chunk_id)


def part_size(dataset_id: int, version: str, part: str) -> int:
    return sum(size for _, size in chunk_ids(dataset_id, version, part))


def read_part(dataset_id: int, version: str, part: str) -> bytes:
    return b"".join(iter_part(dataset_id, version, part))


class ChunkFile(io.RawIOBase):
    """A seekable read-only file over a part's pieces, holding one piece at a time: Parquet
    readers jump to the footer and then to each row group."""

    def __init__(self, dataset_id: int, version: str, part: str) -> None:
        super().__init__()
        self.pieces = chunk_ids(dataset_id, version, part)
        self.starts: list[int] = []
        offset = 0
        for _, size in self.pieces:
            self.starts.append(offset)
            offset += size
        self.length = offset
        self.position = 0
        self.cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.length}[whence]
        self.position = max(0, base + offset)
        return self.position

    def _piece(self, index: int) -> bytes:
        if self.cached is None or self.cached[0] != index:
            self.cached = (index, read_chunk(self.pieces[index][0]))
        return self.cached[1]

    def read(self, size: int = -1) -> bytes:
        end = self.length if size is None or size < 0 else min(self.length, self.position + size)
        out = bytearray()
        while self.position < end:
            index = max(i for i, start in enumerate(self.starts) if start <= self.position)
            piece = self._piece(index)
            inner = self.position - self.starts[index]
            taken = piece[inner : inner + end - self.position]
            out += taken
            self.position += len(taken)
        return bytes(out)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        memoryview(buffer)[: len(data)] = data
        return len(data)


def features_file(dataset: Dataset) -> pq.ParquetFile:
    return pq.ParquetFile(pa.PythonFile(ChunkFile(dataset.pk, dataset.version, "features")))


@lru_cache(maxsize=32)
def labels_of_version(dataset_id: int, version: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(splits, labels) of every point, cached per process and version."""
    splits, labels = columnar.read_labels(read_part(dataset_id, version, columnar.LABELS))
    return tuple(splits), tuple(labels)
