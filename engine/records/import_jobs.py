"""Imports that run in the background, with progress: ``ImportJobs``.

A browser cannot wait on one HTTP request while 100,000 rows are imported.
So the import wizard stores the file once (the file storage, with its size
limit), previews it (``preview``), then starts a **job**: a row in
``import_jobs`` that answers at once, while a ``JobRunner`` runs the import
(``run``) elsewhere — today a thread of the serving process
(``ThreadRunner``); the worker of issue #12 can take the same ``run`` over.

While it runs, the job's row says how far it got: after every batch the
importer's ``progress`` callback writes the rows processed and the counts,
and reads whether the user asked to cancel (the import stops after that
batch; the batches before stay written). A heartbeat thread writes
``heartbeat_at`` every ``beat_seconds``: a job still ``queued`` or
``running`` without a sign of life for ``stale_seconds`` belongs to a
process that died, and is marked failed when anyone reads it, saying that
the rows of the batches already written stay. At the end the job keeps its
report (both languages, and the failed rows as read), from which the
failed rows are written as xlsx or CSV in the reader's language.

A job is visible to the user who started it and to whoever manages its app
(admins, the app's owners); to anyone else it does not exist (404).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import sqlalchemy as sa

from engine.core.clock import Clock, SystemClock
from engine.core.errors import ConflictError, NotFoundError, QiqiaoError, ValidationError
from engine.core.i18n import Label, Message, label
from engine.records.actor import Actor
from engine.records.import_cleanup import KEEP_DAYS, clean_imports
from engine.records.import_preview import ImportPreview, preview_import
from engine.records.import_report import ImportReport
from engine.records.import_runner import JobRunner, ThreadRunner
from engine.records.importing import ImportOptions, check_import, import_file
from engine.records.reader import utc
from engine.records.service import RecordService
from engine.records.sheets import SUFFIXES, FileRefused, open_sheet
from engine.store.database import Database
from engine.store.files import FileInfo, FileStorage
from engine.store.models import ImportJob as ImportJobRow
from engine.store.uploads import accept_upload

log = logging.getLogger("qiqiao.imports")

JOBS = cast(sa.Table, ImportJobRow.__table__)
ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled")
COUNTS = ("created", "updated", "unchanged", "skipped", "failed")
STALE_SECONDS = 60.0
_FILE_ID = re.compile(r"^[0-9a-fA-F-]{1,36}$")

_NO_JOB = Message("导入任务 {id} 不存在", "There is no import job {id}")
_NO_FILE = Message("文件 {id} 不存在", "There is no file {id}")
_NOT_SHEET = Message("{name} 不是 CSV 或 xlsx 文件：文件名应以 .csv 或 .xlsx 结尾",
                     "{name} is not a CSV or xlsx file: the file name must end in .csv or .xlsx")
_NOT_FINISHED = Label("导入尚未完成，还没有失败行可下载", "The import has not finished: there are no failed rows yet")
_NO_REPORT = Label("该导入没有报告（它没有完成），没有失败行可下载",
                   "This import has no report (it did not finish), so there are no failed rows to download")
_FINISHED = Message("导入已结束（{status}），无法取消", "The import has already ended ({status}); it cannot be cancelled")
_INTERNAL = Label("导入因内部错误中止；已写入的批次保留", "The import stopped on an internal error; "
                  "the batches already written stay")
_DIED = Message(
    "运行导入的进程已停止（{seconds} 秒无响应）。已写入的批次保留：已处理 {processed} 行"
    "（新建 {created}，更新 {updated}）；请用键字段和“跳过重复”重新导入其余的行。",
    "The process running the import stopped (no sign of life for {seconds} s). The batches "
    "already written stay: {processed} rows processed ({created} created, {updated} updated); "
    "import the file again with a key field and on_duplicate=skip to load the rest.")


@dataclass(frozen=True)
class ImportJob:
    """A job as read from its row (``report`` is the stored report, when it finished)."""

    id: int
    app: str
    form: str
    user_id: int | None
    file_id: str
    file_name: str
    options: dict[str, Any]
    status: str
    total_rows: int | None
    processed_rows: int
    counts: dict[str, int]
    cancel_requested: bool
    error: Label | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    report: dict[str, Any] | None

    @classmethod
    def of(cls, row: Any) -> ImportJob:
        data = row._mapping
        return cls(int(data["id"]), data["app"], data["form"], data["user_id"], data["file_id"], data["file_name"],
                   dict(data["options"]), data["status"], data["total_rows"], int(data["processed_rows"]),
                   {name: int(data[name]) for name in COUNTS}, bool(data["cancel_requested"]),
                   label(data["error"]) if data["error"] else None, _utc(data["created_at"]),
                   utc(data["started_at"]), utc(data["finished_at"]), data["report"])

    @property
    def dry_run(self) -> bool:
        return bool(self.options.get("dry_run"))

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def import_report(self) -> ImportReport | None:
        return ImportReport.from_stored(self.report) if self.report is not None else None

    def as_dict(self, locale: str = "en") -> dict[str, Any]:
        """The job as JSON (the API's, and what a page shows)."""
        report = self.import_report()
        return {
            "id": self.id, "app": self.app, "form": self.form, "user_id": self.user_id,
            "file": {"id": self.file_id, "name": self.file_name}, "options": self.options,
            "dry_run": self.dry_run, "status": self.status, "cancel_requested": self.cancel_requested,
            "progress": {"processed": self.processed_rows, "total": self.total_rows},
            "counts": dict(self.counts), "error": self.error.text(locale) if self.error else None,
            "created_at": self.created_at, "started_at": self.started_at, "finished_at": self.finished_at,
            "report": report.as_dict(locale) if report is not None else None,
        }


def stored_options(options: ImportOptions) -> dict[str, Any]:
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in dataclasses.asdict(options).items()}


def options_of(data: dict[str, Any]) -> ImportOptions:
    known = {f.name for f in dataclasses.fields(ImportOptions)}
    return ImportOptions(**{k: v for k, v in data.items() if k in known})


class ImportJobs:
    """Import files, preview them and run their imports as jobs (module docstring).

    ``database`` holds the jobs (and every app's records); ``service_for``
    gives the record service of an app (``RecordServices.get``); ``files`` is
    where import files are kept. Every method takes the ``Actor`` it acts
    for, as the record service does."""

    def __init__(self, database: Database, service_for: Callable[[str], RecordService], files: FileStorage, *,
                 runner: JobRunner | None = None, clock: Clock | None = None,
                 stale_seconds: float = STALE_SECONDS, beat_seconds: float | None = None) -> None:
        self.database = database
        self.service_for = service_for
        self.files = files
        self.runner: JobRunner = runner or ThreadRunner()
        self.clock = clock or SystemClock()
        self.stale_seconds = stale_seconds
        self.beat_seconds = beat_seconds if beat_seconds is not None else stale_seconds / 4

    # --- files ----------------------------------------------------------------------
    def store_file(self, stream: IO[bytes], name: str, *, actor: Actor) -> FileInfo:
        """Keep an uploaded CSV or xlsx file (checked like any upload: type, size)."""
        suffix = Path(name).suffix.lower()
        if suffix not in SUFFIXES:
            problem = _NOT_SHEET.format(name=name)
            raise FileRefused(problem, field_errors={"file": [problem]})
        return accept_upload(self.files, stream, name, created_by=actor.user_id)

    def file(self, file_id: str, *, actor: Actor) -> FileInfo:
        """A stored file the actor uploaded (admins: any); NotFoundError otherwise."""
        info = None
        if _FILE_ID.match(file_id):  # anything else names no file (nor reaches the database)
            with contextlib.suppress(NotFoundError):
                info = self.files.info(file_id)
        admin = actor.access is None or actor.access.principal.is_admin
        if info is None or not (admin or info.created_by == actor.user_id):
            raise NotFoundError(_NO_FILE.format(id=file_id[:36]), details={"file": file_id[:36]})
        if Path(info.name).suffix.lower() not in SUFFIXES:
            problem = _NOT_SHEET.format(name=info.name)
            raise FileRefused(problem, field_errors={"file": [problem]})
        return info

    def preview(self, app_key: str, form_key: str, file_id: str, options: ImportOptions | None = None, *,
                actor: Actor) -> ImportPreview:
        """The file's sheets, header, first rows and proposed mapping (``preview_import``)."""
        info = self.file(file_id, actor=actor)
        chosen = _with_format(options or ImportOptions(), info.name)
        with self.files.open(info.id) as stream:
            return preview_import(self.service_for(app_key), form_key, stream, chosen, actor=actor)

    # --- jobs -----------------------------------------------------------------------
    def start(self, app_key: str, form_key: str, file_id: str, options: ImportOptions | None = None, *,
              actor: Actor) -> ImportJob:
        """Check the set-up as the import would (raising now for a bad file,
        mapping or right), record the job and hand it to the runner; returns
        the job, ``queued``, at once."""
        info = self.file(file_id, actor=actor)
        chosen = _with_format(options or ImportOptions(), info.name)
        service = self.service_for(app_key)
        with self.files.open(info.id) as stream:
            check_import(service, form_key, stream, chosen, actor=actor)
        now = self._now()
        with self.database.transaction() as conn:
            job_id = int(conn.execute(sa.insert(JOBS).values(
                app=app_key, form=form_key, user_id=actor.user_id, file_id=info.id, file_name=info.name,
                options=stored_options(chosen), status="queued", processed_rows=0, cancel_requested=False,
                created_at=now, heartbeat_at=now, **dict.fromkeys(COUNTS, 0),
            ).returning(JOBS.c.id)).scalar_one())
        job = self._read(job_id)
        self.runner.submit(job_id, lambda: self.run(job_id, dataclasses.replace(actor, source="import")))
        clean_imports(self.database, self.files, now - dt.timedelta(days=KEEP_DAYS))  # import_cleanup
        return job

    def get(self, job_id: int, *, actor: Actor) -> ImportJob:
        """The job, if the actor may see it (NotFoundError otherwise); a job
        whose runner is gone is marked failed first."""
        self.reap()
        job = self._read(job_id)
        if not self._visible(job, actor):
            raise NotFoundError(_NO_JOB.format(id=job_id), details={"job": job_id})
        return job

    def app_of(self, job_id: int) -> str:
        """The app a job imports into (to build the actor that reads it);
        NotFoundError when there is no such job."""
        return self._read(job_id).app

    def recent(self, app_key: str, *, actor: Actor, limit: int = 20) -> list[ImportJob]:
        """The actor's own jobs in the app, newest first."""
        self.reap()
        with self.database.reading() as conn:
            rows = conn.execute(sa.select(JOBS).where(JOBS.c.app == app_key, JOBS.c.user_id == actor.user_id)
                                .order_by(JOBS.c.id.desc()).limit(limit)).all()
        return [ImportJob.of(row) for row in rows]

    def cancel(self, job_id: int, *, actor: Actor) -> ImportJob:
        """Ask the job to stop: a queued job is cancelled at once, a running
        one after its current batch (what was written stays)."""
        job = self.get(job_id, actor=actor)
        if job.status in ("done", "failed"):
            raise ConflictError(_FINISHED.format(status=job.status), details={"status": job.status})
        with self.database.transaction() as conn:
            conn.execute(sa.update(JOBS).where(JOBS.c.id == job_id, JOBS.c.status.in_(ACTIVE))
                         .values(cancel_requested=True))
            conn.execute(sa.update(JOBS).where(JOBS.c.id == job_id, JOBS.c.status == "queued")
                         .values(status="cancelled", finished_at=self._now()))
        return self._read(job_id)

    def write_failed_rows(self, job_id: int, target: str | Path | IO[bytes] | IO[str], *,
                          actor: Actor, format: str | None = None, locale: str = "en") -> int:
        """The rows that failed, in the file's own columns plus an error column
        in ``locale``, to fix and import again; the number of rows written."""
        job = self.get(job_id, actor=actor)
        if not job.finished:
            raise ConflictError(_NOT_FINISHED, details={"status": job.status})
        report = job.import_report()
        if report is None:
            raise ConflictError(_NO_REPORT, details={"status": job.status})
        return report.write_failed_rows(target, format=format, locale=locale)

    def reap(self) -> int:
        """Mark failed the jobs whose runner has shown no sign of life for
        ``stale_seconds`` (its process died); how many there were."""
        cutoff = self._now() - dt.timedelta(seconds=self.stale_seconds)
        stale = (JOBS.c.status.in_(ACTIVE)) & (JOBS.c.heartbeat_at < cutoff)
        with self.database.reading() as conn:
            rows = conn.execute(sa.select(JOBS).where(stale)).all()
        for row in rows:
            job = ImportJob.of(row)
            message = _DIED.format(seconds=f"{self.stale_seconds:g}", processed=f"{job.processed_rows:,}",
                                   created=f"{job.counts['created']:,}", updated=f"{job.counts['updated']:,}")
            with self.database.transaction() as conn:
                conn.execute(sa.update(JOBS).where(JOBS.c.id == job.id, stale)
                             .values(status="failed", error=message.as_dict(), finished_at=self._now()))
        return len(rows)

    # --- running --------------------------------------------------------------------
    def run(self, job_id: int, actor: Actor) -> None:
        """Run a queued job to its end (what a runner calls). Never raises:
        whatever stops the import is the job's ``error``."""
        try:
            if not self._claim(job_id):
                return  # cancelled while queued, or taken by another runner
        except Exception:  # left queued: marked failed once stale
            log.exception("import job %s could not be begun", job_id)
            return
        stop = threading.Event()
        threading.Thread(target=self._beat, args=(job_id, stop), daemon=True,
                         name=f"qiqiao-import-beat-{job_id}").start()
        try:
            job = self._read(job_id)
            options = options_of(job.options)
            self._write(job_id, total_rows=self._count_rows(job, options))
            with self.files.open(job.file_id) as stream:
                report = import_file(self.service_for(job.app), job.form, stream, options, actor=actor,
                                     progress=lambda r: self._progress(job_id, r))
            self._finish(job_id, "cancelled" if report.cancelled else "done", report=report)
        except QiqiaoError as exc:
            self._finish(job_id, "failed", error=exc.message)
        except Exception:
            log.exception("import job %s failed", job_id)
            self._finish(job_id, "failed", error=_INTERNAL)
        finally:
            stop.set()

    def _count_rows(self, job: ImportJob, options: ImportOptions) -> int:
        with self.files.open(job.file_id) as stream, open_sheet(
                stream, format=options.format, sheet=options.sheet, delimiter=options.delimiter) as sheet:
            return sum(1 for _ in sheet.rows)

    def _progress(self, job_id: int, report: ImportReport) -> bool:
        def write() -> bool:
            with self.database.transaction() as conn:
                conn.execute(sa.update(JOBS).where(JOBS.c.id == job_id, JOBS.c.status == "running").values(
                    processed_rows=report.rows, heartbeat_at=self._now(),
                    **{name: getattr(report, name) for name in COUNTS}))
                row = conn.execute(sa.select(JOBS.c.status, JOBS.c.cancel_requested)
                                   .where(JOBS.c.id == job_id)).one()
            return bool(row.status == "running" and not row.cancel_requested)

        return self.database.retrying(write)

    def _beat(self, job_id: int, stop: threading.Event) -> None:
        while not stop.wait(self.beat_seconds):
            try:
                self._write(job_id, only_running=True, heartbeat_at=self._now())
            except Exception:  # a missed beat is retried at the next; the import goes on
                log.warning("import job %s: heartbeat not written", job_id, exc_info=True)

    def _claim(self, job_id: int) -> bool:
        now = self._now()
        with self.database.transaction() as conn:
            claimed = conn.execute(sa.update(JOBS).where(JOBS.c.id == job_id, JOBS.c.status == "queued")
                                   .values(status="running", started_at=now, heartbeat_at=now)).rowcount
        return bool(claimed)

    def _finish(self, job_id: int, status: str, *, report: ImportReport | None = None,
                error: Label | None = None) -> None:
        values: dict[str, Any] = {"status": status, "finished_at": self._now()}
        if report is not None:
            values.update(processed_rows=report.rows, report=report.stored(),
                          **{name: getattr(report, name) for name in COUNTS})
        if error is not None:
            values["error"] = error.as_dict()
        # A job already marked failed as stale keeps that verdict.
        self.database.retrying(lambda: self._write(job_id, only_running=True, **values))

    def _write(self, job_id: int, *, only_running: bool = False, **values: Any) -> None:
        query = sa.update(JOBS).where(JOBS.c.id == job_id)
        if only_running:
            query = query.where(JOBS.c.status == "running")
        with self.database.transaction() as conn:
            conn.execute(query.values(**values))

    def _now(self) -> dt.datetime:
        # In UTC: SQLite keeps a timestamp's wall time without its offset, and reads it back as UTC.
        return self.clock.now().astimezone(dt.UTC)

    def _read(self, job_id: int) -> ImportJob:
        with self.database.reading() as conn:
            row = conn.execute(sa.select(JOBS).where(JOBS.c.id == job_id)).first()
        if row is None:
            raise NotFoundError(_NO_JOB.format(id=job_id), details={"job": job_id})
        return ImportJob.of(row)

    @staticmethod
    def _visible(job: ImportJob, actor: Actor) -> bool:
        if actor.access is None:
            return True  # the system
        return job.user_id == actor.user_id or actor.access.principal.manages(job.app)


def _utc(moment: dt.datetime) -> dt.datetime:
    found = utc(moment)
    assert found is not None
    return found


def _with_format(options: ImportOptions, name: str) -> ImportOptions:
    """The stored file has no name on disk: its format comes from the name it was uploaded with."""
    if options.format is not None:
        return options
    kind = SUFFIXES.get(Path(name).suffix.lower())
    if kind is None:
        raise ValidationError(_NOT_SHEET.format(name=name))
    return dataclasses.replace(options, format=kind)
