"""Reading a multipart form as it streams in, with the size limits enforced on the way.

Starlette's `request.form()` spools every upload whole before the route sees it; the
officials' evidence form instead feeds the body chunk by chunk to python-multipart's
parser and stops at the first byte over a limit, so a 25 MB file (or a body that says it
is too big in Content-Length) is refused without being read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

FIELD_LIMIT = 8 * 1024  # a text field (note, date, token) never needs more
OVERHEAD = 64 * 1024  # part headers and text fields on top of the files


class UploadTooLarge(Exception):
    """The body is over a limit; `read` is how many bytes had been read when it stopped."""

    def __init__(self, message: str, read: int) -> None:
        super().__init__(message)
        self.message = message
        self.read = read


class BadForm(Exception):
    pass


@dataclass
class StreamedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # (field name, file name, bytes)
    bytes_read: int = 0


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0


async def read_form(request: Request, *, max_file_bytes: int, max_files: int, max_file_mb: float) -> StreamedForm:
    """The form's text fields and files; UploadTooLarge as soon as a limit is crossed."""
    too_big = f"文件超过 {max_file_mb:g} MB,或一次上传的文件太多(最多 {max_files} 个),请压缩或分开上传。"
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise BadForm("expected multipart/form-data")
    body_limit = max_files * max_file_bytes + OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > body_limit:
        raise UploadTooLarge(too_big, 0)

    form = StreamedForm()
    current = _Part()
    header_field = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        nonlocal current
        current = _Part()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        current.headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(current.headers.get(b"content-disposition", b""))
        current.name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        current.filename = filename.decode("utf-8", "replace") if filename is not None else None

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current.size += end - start
        limit = max_file_bytes if current.filename is not None else FIELD_LIMIT
        if current.size > limit:
            raise UploadTooLarge(too_big, form.bytes_read)
        current.chunks.append(data[start:end])

    def on_part_end() -> None:
        content = b"".join(current.chunks)
        if current.filename is not None:
            if current.filename == "" and not content:
                return  # an empty file input
            if len(form.files) >= max_files:
                raise UploadTooLarge(too_big, form.bytes_read)
            form.files.append((current.name, current.filename, content))
        else:
            form.fields[current.name] = content.decode("utf-8", "replace")

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    async for chunk in request.stream():
        form.bytes_read += len(chunk)
        if form.bytes_read > body_limit:
            raise UploadTooLarge(too_big, form.bytes_read)
        parser.write(chunk)
    parser.finalize()
    return form
