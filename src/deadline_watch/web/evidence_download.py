"""How an evidence file leaves the board: its checked type, a harmless name, safe headers.

Images may be shown inline (the review page embeds them); everything else is an
attachment. The file is never looked up by name or path, only by its id in the database.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response

from deadline_watch.domain.models import EvidenceFile
from deadline_watch.officials.evidence import IMAGE_TYPES


def evidence_response(row: EvidenceFile, *, inline: bool = False) -> Response:
    disposition = "inline" if inline and row.content_type in IMAGE_TYPES else "attachment"
    ascii_name = "".join(char if char.isascii() and char.isalnum() or char in "._-" else "_" for char in row.filename)
    return Response(
        content=row.content,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(row.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
            "Cache-Control": "private, no-store",
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )
