"""/admin/import: registry upload by an admin, showing the same validation report as the CLI.

A clean dry run keeps the checked file on the server for a short time (web.checked_uploads),
bound to the admin, so "正式导入" imports exactly that file without picking it again.
"""

from __future__ import annotations

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from deadline_watch.web.auth import ADMINS, unit_of_work
from deadline_watch.web.checked_uploads import CheckedUploads
from deadline_watch.web.guard import UPLOAD_LIMIT, register_upload_limit
from deadline_watch.web.rendering import page

router = APIRouter(include_in_schema=False)
MAX_UPLOAD_BYTES = UPLOAD_LIMIT
# the multipart envelope around the file needs a little room beyond the file itself
register_upload_limit("/admin/import", UPLOAD_LIMIT + 64 * 1024)


def _checked(request: Request) -> CheckedUploads:
    store = getattr(request.app.state, "checked_uploads", None)
    if store is None:
        store = request.app.state.checked_uploads = CheckedUploads()
    return store


@router.get("/admin/import")
def import_form(request: Request) -> Response:
    with unit_of_work(request, allowed=ADMINS) as work:
        return page(request, "import.html", viewer=work.viewer, nav="import", report=None)


def _run_import(request: Request, work_facts: tuple, *, filename: str, content: bytes, dry_run: bool):
    from deadline_watch.registry import ImportOptions, import_bytes
    from deadline_watch.registry.limits import limits_from

    viewer, now, app_context = work_facts
    return import_bytes(
        app_context.sessions,
        filename=filename,
        content=content,
        now=now,
        options=ImportOptions(dry_run=dry_run, limits=limits_from(app_context.settings.registry)),
        actor=viewer.actor,
    )


def _show(request: Request, viewer, report, *, error: str | None, filename: str | None, dry_run: bool,
          token: str | None = None) -> Response:
    status = 400 if error or (report is not None and report.errors) else 200
    return page(request, "import.html", status_code=status, viewer=viewer, nav="import", report=report,
                error=error, filename=filename, dry_run=dry_run, checked_token=token)


@router.post("/admin/import")
def import_upload(
    request: Request,
    registry: UploadFile = File(...),
    csrf_token: str = Form(""),
    dry_run: str = Form(""),
) -> Response:
    # The check and the import are separate transactions: import_bytes runs its own.
    with unit_of_work(request, allowed=ADMINS, write=True, csrf=csrf_token) as work:
        facts = (work.viewer, work.now, work.context)
    viewer, now, _ = facts
    content = registry.file.read(MAX_UPLOAD_BYTES + 1)
    filename = registry.filename or "registry.csv"
    if len(content) > MAX_UPLOAD_BYTES:
        return _show(request, viewer, None, error="文件过大(最大 20 MB)", filename=filename, dry_run=bool(dry_run))
    if not content:
        return _show(request, viewer, None, error="请选择要上传的台账文件", filename=filename, dry_run=bool(dry_run))
    report = _run_import(request, facts, filename=filename, content=content, dry_run=bool(dry_run))
    token = None
    if dry_run and report.ok:
        token = _checked(request).put(viewer.id, filename, content, now=now)
    return _show(request, viewer, report, error=None, filename=filename, dry_run=bool(dry_run), token=token)


@router.post("/admin/import/commit")
def import_checked(request: Request, csrf_token: str = Form(""), checked: str = Form("")) -> Response:
    """正式导入 the file this admin checked a moment ago (the same bytes, not a new upload)."""
    with unit_of_work(request, allowed=ADMINS, write=True, csrf=csrf_token) as work:
        facts = (work.viewer, work.now, work.context)
    viewer, now, _ = facts
    entry = _checked(request).take(viewer.id, checked, now=now)
    if entry is None:
        return _show(request, viewer, None, error="校验结果已过期(15 分钟内有效)或不属于当前用户,请重新上传并校验",
                     filename=None, dry_run=True)
    report = _run_import(request, facts, filename=entry.filename, content=entry.content, dry_run=False)
    return _show(request, viewer, report, error=None, filename=entry.filename, dry_run=False)
