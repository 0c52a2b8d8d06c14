"""Where an import job runs: the ``JobRunner`` interface and ``ThreadRunner``.

``ImportJobs.start`` records a job and hands ``submit`` the work to do (a
call of ``ImportJobs.run``); the runner decides where it runs. Today that is
a thread of the serving process. A worker process (issue #12) can take over
by implementing ``submit`` as "leave it queued" and, in the worker, calling
``ImportJobs.run(job_id, actor)`` for each queued job: ``run`` claims the
job atomically (queued -> running), so two runners never run one job, and
keeps the heartbeat that tells a live job from one whose process died.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol


class JobRunner(Protocol):
    """Runs a job's ``work`` somewhere else than the request that started it."""

    def submit(self, job_id: int, work: Callable[[], None]) -> None: ...


class ThreadRunner:
    """Each job in a daemon thread of this process (a server that stops
    leaves its jobs ``running``: they are marked failed once stale)."""

    def __init__(self) -> None:
        self.threads: dict[int, threading.Thread] = {}

    def submit(self, job_id: int, work: Callable[[], None]) -> None:
        for ended in [key for key, thread in self.threads.items() if not thread.is_alive()]:
            del self.threads[ended]
        thread = threading.Thread(target=work, name=f"qiqiao-import-{job_id}", daemon=True)
        self.threads[job_id] = thread
        thread.start()

    def join(self, job_id: int, timeout: float | None = None) -> None:
        thread = self.threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
