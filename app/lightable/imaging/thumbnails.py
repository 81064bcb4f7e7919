"""Thumbnails: made fast (JPEG draft mode), kept in one SQLite file per project.

``make_thumbnail`` decodes at 1/2..1/8 scale when the file is a JPEG (libjpeg
scales in the DCT, so a 1280x960 photo costs about a sixteenth of a full
decode), applies the EXIF orientation and encodes a small JPEG.

``ThumbnailCache`` keeps them in ``cache/thumbnails.db`` - one file instead of
100,000 small ones - keyed by image id and validated by the file's mtime, so a
changed file gets a new thumbnail. Broken files get an error marker, so a
browser scrolling past them does not retry the decode on every paint.
"""

from __future__ import annotations

import io
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lightable.core.errors import BadInputError

THUMB_SIZE = 256
JPEG_QUALITY = 85
_SCHEMA_VERSION = 1


def make_thumbnail(path: str | os.PathLike[str], size: int = THUMB_SIZE) -> bytes:
    """JPEG bytes of the upright image with its longer side ``size`` (never enlarged).

    Raises ``BadInputError`` for files that cannot be decoded.
    """
    # Imported here: reading the cache must not pull in numpy and Pillow (start-up).
    from lightable.imaging.decode import load_image

    im = load_image(path, max_side=size)
    buf = io.BytesIO()
    # No optimize/progressive: they cost encode time for a few hundred bytes.
    im.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


@dataclass(frozen=True, slots=True)
class CachedThumb:
    """A cache entry: JPEG bytes, or the reason the file could not be thumbnailed."""

    data: bytes | None
    error: str | None = None


class ThumbnailCache:
    """Thumbnails by image id in a separate SQLite file (a cache: safe to delete).

    Thread-safe: each thread gets its own connection (SQLite connections must
    not be shared across threads without a lock, and WAL lets readers run while
    a writer commits).
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.path = Path(db_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        conn = self._conn()
        conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS thumbs (
                image_id INTEGER PRIMARY KEY,
                mtime_ns INTEGER NOT NULL,
                data     BLOB,
                error    TEXT
            );
            CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT);
            """
        )
        with conn:
            conn.execute(
                "INSERT OR IGNORE INTO info VALUES ('version', ?)", (str(_SCHEMA_VERSION),)
            )

    @classmethod
    def for_project(cls, project: object) -> ThumbnailCache:
        """The cache of a ``Project`` (``project.cache_dir / 'thumbnails.db'``)."""
        return cls(Path(project.cache_dir) / "thumbnails.db")  # type: ignore[attr-defined]

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError("thumbnail cache is closed")
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # A cache may lose its last writes in a power cut; it is rebuilt then.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._all = self._all, []
        for c in conns:
            c.close()
        self._local = threading.local()

    def __enter__(self) -> ThumbnailCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------
    def get(self, image_id: int, mtime_ns: int) -> bytes | None:
        """The thumbnail's JPEG bytes if cached for this version of the file."""
        entry = self.lookup(image_id, mtime_ns)
        return entry.data if entry is not None else None

    def lookup(self, image_id: int, mtime_ns: int) -> CachedThumb | None:
        """The entry (thumbnail or error marker) for this version of the file, or None."""
        row = (
            self._conn()
            .execute("SELECT mtime_ns, data, error FROM thumbs WHERE image_id = ?", (image_id,))
            .fetchone()
        )
        if row is None or row[0] != mtime_ns:
            return None
        return CachedThumb(row[1], row[2])

    def get_many(
        self, ids_with_mtime: Mapping[int, int] | Iterable[tuple[int, int]]
    ) -> dict[int, bytes]:
        """image id -> JPEG bytes for those cached at the given mtime (errors left out)."""
        return {
            k: v.data for k, v in self.lookup_many(ids_with_mtime).items() if v.data is not None
        }

    def lookup_many(
        self, ids_with_mtime: Mapping[int, int] | Iterable[tuple[int, int]]
    ) -> dict[int, CachedThumb]:
        """image id -> entry (thumbnail or error) for those valid at the given mtime."""
        wanted = dict(
            ids_with_mtime.items() if isinstance(ids_with_mtime, Mapping) else ids_with_mtime
        )
        out: dict[int, CachedThumb] = {}
        ids = list(wanted)
        conn = self._conn()
        for i in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            part = ids[i : i + 900]
            marks = ",".join("?" * len(part))
            for image_id, mtime, data, error in conn.execute(
                f"SELECT image_id, mtime_ns, data, error FROM thumbs WHERE image_id IN ({marks})",
                part,
            ):
                if wanted.get(image_id) == mtime:
                    out[image_id] = CachedThumb(data, error)
        return out

    def missing(self, ids_with_mtime: Mapping[int, int]) -> list[int]:
        """Ids with neither a valid thumbnail nor a valid error marker."""
        have = self.lookup_many(ids_with_mtime)
        return [i for i in ids_with_mtime if i not in have]

    def count(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM thumbs").fetchone()[0])

    # -- writing -----------------------------------------------------------------
    def put(self, image_id: int, mtime_ns: int, data: bytes) -> None:
        self.put_many([(image_id, mtime_ns, data, None)])

    def put_error(self, image_id: int, mtime_ns: int, error: str) -> None:
        """Remember that this version of the file cannot be thumbnailed."""
        self.put_many([(image_id, mtime_ns, None, error)])

    def put_many(
        self, rows: Iterable[tuple[int, int, bytes | None, str | None] | tuple[int, int, bytes]]
    ) -> None:
        """Store (image_id, mtime_ns, data[, error]) rows in one transaction."""
        norm = [(r[0], r[1], r[2], r[3] if len(r) > 3 else None) for r in rows]  # type: ignore[misc]
        if not norm:
            return
        conn = self._conn()
        with conn:
            conn.executemany(
                "INSERT OR REPLACE INTO thumbs (image_id, mtime_ns, data, error) VALUES (?,?,?,?)",
                norm,
            )

    def delete(self, image_ids: Iterable[int]) -> None:
        ids = list(image_ids)
        conn = self._conn()
        with conn:
            for i in range(0, len(ids), 900):
                part = ids[i : i + 900]
                conn.execute(
                    f"DELETE FROM thumbs WHERE image_id IN ({','.join('?' * len(part))})", part
                )


def thumbnail_or_error(path: str | os.PathLike[str], size: int = THUMB_SIZE) -> CachedThumb:
    """``make_thumbnail`` that returns the reason instead of raising (for batch jobs)."""
    try:
        return CachedThumb(make_thumbnail(path, size))
    except BadInputError as exc:
        return CachedThumb(None, exc.problem)
    except Exception as exc:  # hostile bytes can trip any Pillow code path
        return CachedThumb(None, f"cannot decode ({type(exc).__name__}: {exc})"[:200])
