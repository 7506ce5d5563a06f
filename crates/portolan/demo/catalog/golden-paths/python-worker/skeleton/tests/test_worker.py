"""The worker's contract, against a queue in memory: handled jobs are acknowledged, failing ones are tried again
until they run out of attempts and then kept in the dead-letter list, and messages that are not jobs are kept there
too."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ${{ values.package }}.worker import InvalidJob, Job, Worker, heartbeat_is_fresh


class MemoryQueue:
    """The Queue protocol on Python lists, recording what the worker did."""

    def __init__(self, *messages: bytes) -> None:
        self.waiting = list(messages)
        self.acked: list[bytes] = []
        self.retried: list[Job] = []
        self.dead: list[bytes] = []

    def take(self, timeout: float) -> bytes | None:
        return self.waiting.pop(0) if self.waiting else None

    def ack(self, raw: bytes) -> None:
        self.acked.append(raw)

    def retry(self, raw: bytes, job: Job) -> None:
        self.retried.append(job)
        self.waiting.append(job.encode())

    def bury(self, raw: bytes) -> None:
        self.dead.append(raw)


def failing(job: Job) -> None:
    raise RuntimeError(f"cannot handle {job.id}")


def test_jobs_round_trip() -> None:
    job = Job(id="42", payload={"order": "A-1"}, attempt=3)
    assert Job.decode(job.encode()) == job
    assert Job.decode(b'{"id": 7}') == Job(id="7", payload={}, attempt=1)


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"payload": {}}', b'{"id": 1, "payload": "x"}'])
def test_what_is_not_a_job_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidJob):
        Job.decode(raw)


def test_a_handled_job_is_acknowledged() -> None:
    handled: list[Job] = []
    raw = Job(id="1", payload={"n": 1}).encode()
    queue = MemoryQueue(raw)
    worker = Worker(queue, handler=handled.append)
    assert worker.run_once(timeout=0)
    assert handled == [Job(id="1", payload={"n": 1})]
    assert queue.acked == [raw]
    assert not worker.run_once(timeout=0), "the queue is empty"


def test_a_failing_job_is_tried_then_kept_in_the_dead_letter_list() -> None:
    queue = MemoryQueue(Job(id="1").encode())
    worker = Worker(queue, handler=failing, max_attempts=3, dead_letter=True)
    while worker.run_once(timeout=0):
        pass
    assert [job.attempt for job in queue.retried] == [2, 3]
    assert [Job.decode(raw).attempt for raw in queue.dead] == [3], "given up after the third attempt"
    assert queue.acked == []
    assert queue.waiting == []


def test_without_the_dead_letter_list_a_job_is_dropped() -> None:
    queue = MemoryQueue(Job(id="1").encode(), b"garbage")
    worker = Worker(queue, handler=failing, max_attempts=1, dead_letter=False)
    while worker.run_once(timeout=0):
        pass
    assert len(queue.acked) == 2
    assert queue.dead == []


def test_a_message_that_is_not_a_job_is_kept_in_the_dead_letter_list() -> None:
    queue = MemoryQueue(b"garbage")
    worker = Worker(queue, handler=failing, dead_letter=True)
    assert worker.run_once(timeout=0)
    assert queue.dead == [b"garbage"]
    assert queue.retried == []


def test_stop_ends_the_loop_and_the_heartbeat_is_touched(tmp_path: Path) -> None:
    heartbeat = tmp_path / "heartbeat"
    queue = MemoryQueue(Job(id="1").encode(), Job(id="2").encode())
    worker = Worker(queue, handler=lambda job: worker.stop(), heartbeat=heartbeat)
    worker.run()
    assert len(queue.acked) == 1, "the second job is left for the next worker"
    assert heartbeat_is_fresh(heartbeat, max_age=60)


def test_a_stale_or_missing_heartbeat_fails_the_check(tmp_path: Path) -> None:
    heartbeat = tmp_path / "heartbeat"
    assert not heartbeat_is_fresh(heartbeat, max_age=60)
    heartbeat.touch()
    an_hour_ago = time.time() - 3600
    os.utime(heartbeat, (an_hour_ago, an_hour_ago))
    assert not heartbeat_is_fresh(heartbeat, max_age=60)
    assert heartbeat_is_fresh(heartbeat, max_age=7200)
