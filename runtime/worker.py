"""The worker: the periodic work that happens outside requests.

``build_tasks`` is the explicit list of what a worker does, each a
``WorkerTask`` run every ``every_seconds``: the outbox's delivery first
then the rules' schedules and date triggers (``engine.rules.ticks.run_due``), then
the flows' delays, reminders and time-outs (``engine.flows.timeouts``), then
the reports' alerts (``engine.reports.alerts``). ``Worker``
runs them: ``run_once`` does whatever is due now (``qiqiao worker --once``,
and the tests, with a fixed clock), ``run_forever`` until its ``stop``
event is set (SIGTERM or SIGINT in ``qiqiao worker``; the end of ``qiqiao
serve`` for the worker it runs in a thread on SQLite).

Several workers may run at once (on PostgreSQL, one per machine or more):
each task must be safe to run concurrently — the outbox claims rows with
``SKIP LOCKED`` and leases. A task that raises is logged and tried again
at its next turn; the worker carries on.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.composition import Engine
from engine.core.clock import Clock
from engine.notify.delivery import Deliverer
from engine.notify.settings import NotifySettings
from engine.notify.webhook import reply_writer
from engine.rules.ticks import run_due

LOG = logging.getLogger("qiqiao.worker")
# Date triggers tick every minute and crontabs name minutes: checking a few
# times a minute keeps a tick within seconds of its moment.
TICK_SECONDS = 15.0


@dataclass(frozen=True)
class WorkerTask:
    """Periodic work: ``run(now)`` does what is due and returns how much it did."""

    key: str
    every_seconds: float
    run: Callable[[dt.datetime], int]


def default_name() -> str:
    """Who claims messages: the host and process, so an admin can tell workers apart."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def build_tasks(engine: Engine, settings: NotifySettings, *, name: str | None = None,
                every_seconds: float = 1.0, stop: threading.Event | None = None) -> list[WorkerTask]:
    """What a worker does, in order. ``stop`` ends a long task between its
    steps (the outbox between batches) when the worker is asked to stop."""
    deliverer = Deliverer(engine.database, engine.clock, settings, name=name or default_name(),
                          batch_size=settings.batch_size, lease_seconds=settings.lease_seconds,
                          record_every=settings.record_every,
                          write_reply=reply_writer(engine.service), stop=stop)
    worker = name or default_name()
    return [WorkerTask("outbox", every_seconds, lambda now: deliverer.run(now)),
            # Schedules and date triggers: each tick claimed once however many workers run.
            WorkerTask("rule_ticks", TICK_SECONDS, lambda now: run_due(engine.rules, now, worker)),
            # Flows: delays that ended, reminders, time-outs (each once however many workers run).
            WorkerTask("flows", TICK_SECONDS, lambda now: engine.flows.run_due(now)),
            # Reports' alerts: each due check done once however many workers run.
            WorkerTask("report_alerts", TICK_SECONDS, lambda now: engine.reports.run_alerts(now))]


class Worker:
    """Runs ``tasks`` over ``engine``: each when its interval has passed."""

    def __init__(self, engine: Engine, tasks: list[WorkerTask], *, name: str | None = None,
                 clock: Clock | None = None) -> None:
        self.engine = engine
        self.tasks = tasks
        self.name = name or default_name()
        self.clock = clock or engine.clock
        self._next: dict[str, float] = {}

    def run_once(self) -> int:
        """Run every task now, once; returns how much they did in all."""
        return sum(self._run(task) for task in self.tasks)

    def run_forever(self, stop: threading.Event) -> None:
        """Run the tasks as they fall due until ``stop`` is set. A task that
        did something runs again at once (there may be more waiting)."""
        LOG.info("worker %s started (%s)", self.name, ", ".join(t.key for t in self.tasks))
        while not stop.is_set():
            moment = time.monotonic()
            for task in self.tasks:
                if stop.is_set():
                    break
                if self._next.get(task.key, 0.0) <= moment:
                    busy = self._run(task) > 0
                    self._next[task.key] = time.monotonic() + (0.0 if busy else task.every_seconds)
            wait = min(self._next.values(), default=moment + 1.0) - time.monotonic()
            if wait > 0:
                stop.wait(wait)
        LOG.info("worker %s stopped", self.name)

    def _run(self, task: WorkerTask) -> int:
        try:
            return task.run(self.clock.now())
        except Exception:  # one task's failure must not stop the others, nor the worker
            LOG.exception("worker task %s failed", task.key)
            return 0


def show_worker_log() -> None:
    """The worker's and the channels' log on stderr, at INFO, unless the
    process has its own logging set up: the demo's SMS provider writes its
    messages there, and dead letters are worth seeing."""
    if logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("qiqiao.worker", "qiqiao.notify"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)


def start_in_thread(database_url: str, environ: dict[str, str], *, delay: float = 2.0,
                    ) -> tuple[threading.Thread, threading.Event]:
    """A worker in a daemon thread of this process (``qiqiao serve`` on
    SQLite), with its own database connections. It starts after ``delay``
    seconds: the server forks its request workers first, and a fork should
    not copy a thread's open connections into them."""
    stop = threading.Event()

    def work() -> None:
        if stop.wait(delay):
            return
        from engine.composition import compose
        from engine.store.database import Database

        show_worker_log()
        database = Database(database_url)
        try:
            engine = compose(database)
            settings = NotifySettings.from_env(environ)
            name = f"{default_name()}:serve"
            Worker(engine, build_tasks(engine, settings, name=name, stop=stop), name=name).run_forever(stop)
        except Exception:  # the web server goes on; the log says why nothing is delivered
            LOG.exception("the in-process worker stopped")
        finally:
            database.dispose()

    thread = threading.Thread(target=work, name="qiqiao-worker", daemon=True)
    thread.start()
    return thread, stop


def run_worker(database: str | None, *, once: bool, name: str | None, interval: float) -> int:
    """``qiqiao worker``: the work that is due (``once``), or until SIGTERM/SIGINT."""
    import signal

    import click

    from engine.composition import compose
    from runtime.cli import open_database

    settings = NotifySettings.from_env(os.environ)
    db = open_database(database)
    show_worker_log()
    engine = compose(db)
    name = name or default_name()
    stop = threading.Event()
    worker = Worker(engine, build_tasks(engine, settings, name=name, every_seconds=interval, stop=stop), name=name)
    try:
        if once:
            done = worker.run_once()
            click.echo(f"Worker {name}: {done} item(s) done")
            return done
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        click.echo(f"Worker {name} running ({', '.join(t.key for t in worker.tasks)}); Ctrl+C to stop")
        worker.run_forever(stop)
        return 0
    finally:
        db.dispose()
