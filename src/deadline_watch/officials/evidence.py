"""Evidence files (佐证资料): the type from the bytes, never the name; kept in the database.

Accepted: JPEG, PNG, GIF, WebP, PDF, Word (.docx, .doc) and Excel (.xlsx, .xls). The
format is recognised from the file's first bytes (and, for the Office formats, from the
container's parts), so an HTML page renamed `.jpg` is refused whatever its name says.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core.config import Settings
from deadline_watch.core.errors import DeadlineWatchError
from deadline_watch.domain.models import EvidenceFile

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXTENSIONS = {
    "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "application/pdf": "pdf",
    DOCX: "docx", XLSX: "xlsx", "application/msword": "doc", "application/vnd.ms-excel": "xls",
}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class EvidenceError(DeadlineWatchError):
    """A file that cannot be evidence (type, size, count); the message is plain Chinese."""


@dataclass(frozen=True)
class EvidenceUpload:
    """One file as received: the name the phone gave it (shown only) and its bytes."""

    filename: str
    content: bytes


def detect_type(content: bytes) -> str | None:
    """The MIME type recognised from the bytes, or None when it is not an accepted format."""
    head = content[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return _office_zip(content)
    if head.startswith(_OLE2):
        # the stream names in the compound file's directory are UTF-16
        if "WordDocument".encode("utf-16-le") in content:
            return "application/msword"
        if "Workbook".encode("utf-16-le") in content or "Book".encode("utf-16-le") in content:
            return "application/vnd.ms-excel"
    return None


def _office_zip(content: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        return None
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return None


def display_name(filename: str, content_type: str) -> str:
    """A harmless name to show and to offer on download: no path, no control characters,
    at most 100 characters, and the extension of the detected type."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(char for char in base if char.isprintable() and char not in '<>:"|?*;')
    stem = base.rsplit(".", 1)[0].strip(" .") or "佐证资料"
    return f"{stem[:90]}.{EXTENSIONS[content_type]}"


def check_files(files: list[EvidenceUpload], settings: Settings, *, required: bool) -> list[tuple[EvidenceUpload, str]]:
    """Each file with its detected type; EvidenceError (plain Chinese) for the first problem."""
    limit = settings.evidence
    if required and not files:
        raise EvidenceError("请至少上传一份佐证资料(照片、PDF、Word 或 Excel)。", "at least one evidence file is required")
    if len(files) > limit.max_files:
        raise EvidenceError(f"一次最多上传 {limit.max_files} 个文件。", f"at most {limit.max_files} files")
    checked = []
    for upload in files:
        if len(upload.content) > limit.max_file_bytes:
            raise EvidenceError(
                f"文件“{upload.filename[:60]}”超过 {limit.max_file_mb:g} MB,请压缩后再传。",
                f"{upload.filename[:60]!r} is larger than {limit.max_file_mb:g} MB",
            )
        if not upload.content:
            raise EvidenceError(f"文件“{upload.filename[:60]}”是空的。", "empty file")
        content_type = detect_type(upload.content)
        if content_type is None:
            raise EvidenceError(
                f"文件“{upload.filename[:60]}”不是照片、PDF、Word 或 Excel 文件,无法作为佐证资料。",
                f"{upload.filename[:60]!r} is not a photo, PDF, Word or Excel file",
            )
        checked.append((upload, content_type))
    return checked


def store(
    session: Session,
    checked: list[tuple[EvidenceUpload, str]],
    *,
    request_id: int,
    milestone_id: int,
    person_id: int,
    now: datetime,
) -> list[EvidenceFile]:
    rows = [
        EvidenceFile(
            request_id=request_id,
            milestone_id=milestone_id,
            filename=display_name(upload.filename, content_type),
            content_type=content_type,
            size=len(upload.content),
            sha256=hashlib.sha256(upload.content).hexdigest(),
            content=upload.content,
            uploaded_by_id=person_id,
            created_at=now,
        )
        for upload, content_type in checked
    ]
    session.add_all(rows)
    session.flush()
    return rows


def file_for_person(session: Session, file_id: int, person_id: int) -> EvidenceFile | None:
    """An evidence file this person uploaded (None for anyone else's: same as missing)."""
    row = session.get(EvidenceFile, file_id)
    if row is None or row.uploaded_by_id != person_id:
        return None
    return row


def files_of_requests(session: Session, request_ids: list[int]) -> dict[int, list[EvidenceFile]]:
    found: dict[int, list[EvidenceFile]] = {}
    if request_ids:
        for row in session.scalars(
            sa.select(EvidenceFile).where(EvidenceFile.request_id.in_(request_ids)).order_by(EvidenceFile.id)
        ):
            found.setdefault(row.request_id, []).append(row)
    return found
