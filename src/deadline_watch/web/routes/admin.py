"""/admin/import: registry upload by an admin, showing the same validation report as the CLI."""

from __future__ import annotations

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from deadline_watch.web.auth import ADMINS, unit_of_work
from deadline_watch.web.rendering import page

router = APIRouter(include_in_schema=False)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@router.get("/admin/import")
def import_form(request: Request) -> Response:
    with unit_of_work(request, allowed=ADMINS) as work:
        return page(request, "import.html", viewer=work.viewer, nav="import", report=None)


@router.post("/admin/import")
def import_upload(
    request: Request,
    registry: UploadFile = File(...),
    csrf_token: str = Form(""),
    dry_run: str = Form(""),
) -> Response:
    from deadline_watch.registry import ImportOptions, import_bytes

    # The check and the import are separate transactions: import_bytes runs its own.
    with unit_of_work(request, allowed=ADMINS, write=True, csrf=csrf_token) as work:
        viewer, now, app_context = work.viewer, work.now, work.context
    content = registry.file.read(MAX_UPLOAD_BYTES + 1)
    error = None
    report = None
    if len(content) > MAX_UPLOAD_BYTES:
        error = "文件过大(最大 20 MB)/ file too large (20 MB at most)"
    elif not content:
        error = "请选择要上传的台账文件 / choose a registry file to upload"
    else:
        report = import_bytes(
            app_context.sessions,
            filename=registry.filename or "registry.csv",
            content=content,
            now=now,
            options=ImportOptions(dry_run=bool(dry_run)),
            actor=viewer.actor,
        )
    status = 400 if error or (report is not None and report.errors) else 200
    return page(request, "import.html", status_code=status, viewer=viewer, nav="import", report=report,
                error=error, filename=registry.filename, dry_run=bool(dry_run))
