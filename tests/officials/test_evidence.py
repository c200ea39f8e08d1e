"""The evidence type comes from the bytes: photos, PDF, Word and Excel; nothing else."""

import pytest

from deadline_watch.core.config import Settings
from deadline_watch.officials.evidence import (
    DOCX,
    XLSX,
    EvidenceError,
    EvidenceUpload,
    check_files,
    detect_type,
    display_name,
)

from .evidence_samples import HTML, docx, ole, pdf, png, xlsx


@pytest.mark.parametrize(("content", "expected"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (png(), "image/png"),
    (b"GIF89a\x01\x00\x01\x00", "image/gif"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    (pdf(), "application/pdf"),
    (docx(), DOCX),
    (xlsx(), XLSX),
    (ole("WordDocument"), "application/msword"),
    (ole("Workbook"), "application/vnd.ms-excel"),
])
def test_accepted_types_are_recognised_from_content(content, expected):
    assert detect_type(content) == expected


@pytest.mark.parametrize("content", [HTML, b"PK\x03\x04not a zip", b"MZ\x90\x00", b"#!/bin/sh\nrm -rf /", b"<svg/>"])
def test_other_content_is_refused_whatever_its_name(content):
    assert detect_type(content) is None
    with pytest.raises(EvidenceError) as info:
        check_files([EvidenceUpload("现场照片.jpg", content)], Settings(), required=True)
    assert "不是照片、PDF、Word 或 Excel" in info.value.message_zh


def test_limits_on_count_size_and_presence():
    settings = Settings.model_validate({"evidence": {"max_file_mb": 0.001, "max_files": 2}})
    with pytest.raises(EvidenceError, match="至少上传一份"):
        check_files([], settings, required=True)
    with pytest.raises(EvidenceError, match="最多上传 2 个"):
        check_files([EvidenceUpload("a.png", png())] * 3, settings, required=True)
    with pytest.raises(EvidenceError, match="超过"):
        check_files([EvidenceUpload("a.pdf", pdf() + b" " * 2000)], settings, required=True)
    assert check_files([], settings, required=False) == []


def test_display_name_drops_paths_and_takes_the_detected_extension():
    assert display_name("../../etc/passwd.jpg", "image/png") == "passwd.png"
    assert display_name("C:\\Users\\王\\验收报告.PDF", "application/pdf") == "验收报告.pdf"
    assert display_name('a<script>".docx', DOCX) == "ascript.docx"
