"""Takes jobs from a Redis list and hands each one to `handle`, at least once.

A producer pushes a job with `LPUSH <queue> '{"id": "...", "payload": {...}}'`. The worker moves it atomically to
`<queue>:processing` while it works on it, so that a job whose worker dies is not lost, and removes it from there when
it is done. A job that raises is pushed back with its attempt counted, until it has been tried `max_attempts` times;
then, like a message that is not a job, it goes to the dead-letter list `<queue>:dead` (or is dropped when the
dead-letter list is turned off).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "${{ values.queue }}"
DEFAULT_MAX_ATTEMPTS = ${{ values.maxAttempts }}
DEFAULT_DEAD_LETTER = {% if values.deadLetter %}True{% else %}False{% endif %}


class InvalidJob(ValueError):
    """A message on the queue that is not a job."""


@dataclass(frozen=True)
class Job:
    """One unit of work: an id for the logs, what to work on, and how many times it has been tried."""

    id: str
    payload: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1

    @classmethod
    def decode(cls, raw: bytes) -> Job:
        try:
            message = json.loads(raw)
            return cls(
                id=str(message["id"]),
                payload=dict(message.get("payload") or {}),
                attempt=int(message.get("attempt", 1)),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise InvalidJob(f"not a job: {e}") from e

    def encode(self) -> bytes:
        return json.dumps({"id": self.id, "payload": self.payload, "attempt": self.attempt}).encode()

    def next_attempt(self) -> Job:
        return replace(self, attempt=self.attempt + 1)


class Queue(Protocol):
    """Where jobs come from: a Redis list in production, a list in memory in the tests."""

    def take(self, timeout: float) -> bytes | None:
        """The next job, now held by this worker; None when none came within `timeout` seconds."""

    def ack(self, raw: bytes) -> None:
        """Forgets a job taken earlier: it is done, or dropped."""

    def retry(self, raw: bytes, job: Job) -> None:
        """Puts a job taken earlier back on the queue, as `job`."""

    def bury(self, raw: bytes) -> None:
        """Moves a job taken earlier to the dead-letter list, for a person to look at."""


class RedisQueue:
    """A reliable queue on Redis lists: a job taken stays in `<name>:processing` until it is acknowledged."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name
        self.processing = f"{name}:processing"
        self.dead = f"{name}:dead"

    def take(self, timeout: float) -> bytes | None:
        # Producers push on the left; the oldest job is on the right.
        raw: bytes | None = self.client.blmove(self.name, self.processing, timeout, "RIGHT", "LEFT")
        return raw

    def ack(self, raw: bytes) -> None:
        self.client.lrem(self.processing, 1, raw)

    def retry(self, raw: bytes, job: Job) -> None:
        self._move(raw, self.name, job.encode())

    def bury(self, raw: bytes) -> None:
        self._move(raw, self.dead, raw)

    def _move(self, raw: bytes, to: str, message: bytes) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.lrem(self.processing, 1, raw)
            pipe.lpush(to, message)
            pipe.execute()


def handle(job: Job) -> None:
    """Does the work of one job. Replace this with the worker's own logic; raise to have the job tried again.

    A job can be delivered more than once (when a worker dies mid-job), so make the work idempotent: key what it writes
    by `job.id`.
    """
    log.info("handled job", extra={"job_id": job.id, "attempt": job.attempt})


def heartbeat_is_fresh(path: Path, max_age: float, now: float | None = None) -> bool:
    """Whether the worker touched its heartbeat file in the last `max_age` seconds: the liveness check."""
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return False
    return age <= max_age


class Worker:
    """Takes jobs one at a time until it is told to stop, touching its heartbeat file between jobs."""

    def __init__(
        self,
        queue: Queue,
        handler: Callable[[Job], None] = handle,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        dead_letter: bool = DEFAULT_DEAD_LETTER,
        heartbeat: Path | None = None,
    ) -> None:
        self.queue = queue
        self.handler = handler
        self.max_attempts = max_attempts
        self.dead_letter = dead_letter
        self.heartbeat = heartbeat
        self.stopping = False

    def stop(self, *_: object) -> None:
        """Finishes the job in hand, then returns from `run`; installed for SIGTERM and SIGINT."""
        log.info("stopping after the current job")
        self.stopping = True

    def run_once(self, timeout: float = 5.0) -> bool:
        """Takes and handles one job; False when none came within `timeout` seconds."""
        raw = self.queue.take(timeout)
        if raw is None:
            return False
        try:
            job = Job.decode(raw)
        except InvalidJob:
            log.exception("a message that is not a job: %r", raw[:200])
            self._give_up(raw)
            return True
        context = {"job_id": job.id, "attempt": job.attempt}
        try:
            self.handler(job)
        except Exception:
            if job.attempt >= self.max_attempts:
                log.exception("job failed on its last attempt (%d)", self.max_attempts, extra=context)
                self._give_up(raw)
            else:
                log.warning("job failed; trying it again", exc_info=True, extra=context)
                self.queue.retry(raw, job.next_attempt())
        else:
            self.queue.ack(raw)
        return True

    def run(self) -> None:
        log.info("taking jobs", extra={"dead_letter": self.dead_letter, "max_attempts": self.max_attempts})
        while not self.stopping:
            self.run_once()
            if self.heartbeat is not None:
                self.heartbeat.touch()

    def _give_up(self, raw: bytes) -> None:
        if self.dead_letter:
            self.queue.bury(raw)
        else:
            self.queue.ack(raw)
