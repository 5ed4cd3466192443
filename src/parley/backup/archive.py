"""Where a backup is written and read: a folder or one .tar, every file hashed as it passes."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import stat
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

from parley.backup.manifest import (
    _CHUNK,
    MANIFEST,
    BackupError,
    FileEntry,
)

log = logging.getLogger(__name__)


# --- where a backup is written and read: a folder or a .tar --------------------------------------
class _Writer(Protocol):
    def add_file(self, name: str, source: Path) -> FileEntry | None: ...
    def add_link(self, name: str, target: str) -> None: ...
    def add_bytes(self, name: str, data: bytes) -> None: ...
    def close(self) -> None: ...


def _hash_copy(
    source: IO[bytes], target: IO[bytes] | None, limit: int | None = None
) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    while limit is None or size < limit:
        chunk = source.read(_CHUNK if limit is None else min(_CHUNK, limit - size))
        if not chunk:
            break
        digest.update(chunk)
        if target is not None:
            target.write(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


class _FolderWriter:
    def __init__(self, root: Path) -> None:
        if root.exists() and any(root.iterdir()):
            raise BackupError(f"{root} is not empty")
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root = root

    def add_file(self, name: str, source: Path) -> FileEntry | None:
        target = self.root / name
        # Private as the data folder: folders 0700, files 0600 (the manifest too).
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            with source.open("rb") as reading:
                mode = stat.S_IMODE(os.fstat(reading.fileno()).st_mode)
                descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as writing:
                    size, sha = _hash_copy(reading, writing)
        except FileNotFoundError:
            return None  # moved or deleted meanwhile (a space archived, a recording purged)
        return FileEntry(name, size, sha, mode)

    def add_link(self, name: str, target: str) -> None:
        link = self.root / name
        link.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.symlink(target, link)

    def add_bytes(self, name: str, data: bytes) -> None:
        descriptor = os.open(self.root / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as writing:
            writing.write(data)

    def close(self) -> None:
        return None


class _TarWriter:
    def __init__(self, path: Path) -> None:
        if path.exists():
            raise BackupError(f"{path} exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Readable by our user only from its first byte: it holds the secrets.
        self.file = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        self.tar = tarfile.open(fileobj=self.file, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115

    def add_file(self, name: str, source: Path) -> FileEntry | None:
        try:
            reading = source.open("rb")
        except FileNotFoundError:
            return None
        with reading:
            status = os.fstat(reading.fileno())
            info = tarfile.TarInfo(name)
            # The length when opened: a file appended to meanwhile (a live index) is taken as
            # it was; the others are replaced whole (media/folders.py write_atomically).
            info.size, info.mode, info.mtime = status.st_size, 0o600, int(status.st_mtime)
            hashing = _HashingReader(reading, status.st_size)
            self.tar.addfile(info, hashing)
            return FileEntry(
                name, status.st_size, hashing.hexdigest(), stat.S_IMODE(status.st_mode)
            )

    def add_link(self, name: str, target: str) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = tarfile.SYMTYPE, target
        self.tar.addfile(info)

    def add_bytes(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o600
        info.mtime = int(datetime.now(UTC).timestamp())
        self.tar.addfile(info, io.BytesIO(data))

    def close(self) -> None:
        self.tar.close()
        self.file.close()


class _HashingReader(io.RawIOBase):
    """The first `size` bytes of a file, hashed as tarfile reads them."""

    def __init__(self, source: IO[bytes], size: int) -> None:
        self.source, self.left, self.digest = source, size, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.source.read(n)
        self.left -= len(data)
        self.digest.update(data)
        return data

    def hexdigest(self) -> str:
        return self.digest.hexdigest()


class _Reader(Protocol):
    def manifest_text(self) -> str: ...
    def open(self, name: str) -> IO[bytes]: ...
    def close(self) -> None: ...


class _FolderReader:
    def __init__(self, root: Path) -> None:
        self.root = root

    def manifest_text(self) -> str:
        try:
            return (self.root / MANIFEST).read_text()
        except FileNotFoundError:
            raise BackupError(f"{self.root} has no {MANIFEST}: not a complete backup") from None

    def open(self, name: str) -> IO[bytes]:
        path = self.root / name
        if path.is_symlink() or not path.is_file():
            raise BackupError(f"{name} is missing from the backup")
        return path.open("rb")

    def close(self) -> None:
        return None


class _TarReader:
    def __init__(self, path: Path) -> None:
        try:
            self.tar = tarfile.open(path, "r:")  # noqa: SIM115
        except tarfile.TarError as error:
            raise BackupError(f"{path} is not a tar file: {error}") from None

    def manifest_text(self) -> str:
        return self.open(MANIFEST).read().decode()

    def open(self, name: str) -> IO[bytes]:
        try:
            member = self.tar.getmember(name)
        except KeyError:
            raise BackupError(f"{name} is missing from the backup") from None
        reading = self.tar.extractfile(member) if member.isfile() else None
        if reading is None:
            raise BackupError(f"{name} is not a file in the backup")
        return reading

    def close(self) -> None:
        self.tar.close()


def _is_tar(path: Path) -> bool:
    return path.suffix == ".tar"


@contextlib.contextmanager
def _reader(source: Path) -> Iterator[_Reader]:
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    reader: _Reader = _TarReader(source) if source.is_file() else _FolderReader(source)
    try:
        yield reader
    finally:
        reader.close()
