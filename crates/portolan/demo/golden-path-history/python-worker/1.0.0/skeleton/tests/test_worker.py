"""The worker's contract, against a queue in memory: handled jobs are acknowledged, failing ones are tried again
until they run out of attempts, and messages that are not jobs are dropped."""

from __future__ import annotations

import pytest

from ${{ values.package }}.worker import InvalidJob, Job, Worker


class MemoryQueue:
    """The Queue protocol on Python lists, recording what the worker did."""

    def __init__(self, *messages: bytes) -> None:
        self.waiting = list(messages)
        self.acked: list[bytes] = []
        self.retried: list[Job] = []

    def take(self, timeout: float) -> bytes | None:
        return self.waiting.pop(0) if self.waiting else None

    def ack(self, raw: bytes) -> None:
        self.acked.append(raw)

    def retry(self, raw: bytes, job: Job) -> None:
        self.retried.append(job)
        self.waiting.append(job.encode())


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


def test_a_failing_job_is_tried_until_it_runs_out_of_attempts() -> None:
    queue = MemoryQueue(Job(id="1").encode())
    worker = Worker(queue, handler=failing, max_attempts=3)
    while worker.run_once(timeout=0):
        pass
    assert [job.attempt for job in queue.retried] == [2, 3]
    assert len(queue.acked) == 1, "given up after the third attempt"
    assert queue.waiting == []


def test_a_message_that_is_not_a_job_is_dropped() -> None:
    queue = MemoryQueue(b"garbage")
    worker = Worker(queue, handler=failing)
    assert worker.run_once(timeout=0)
    assert queue.acked == [b"garbage"]
    assert queue.retried == []


def test_stop_ends_the_loop() -> None:
    queue = MemoryQueue(Job(id="1").encode(), Job(id="2").encode())
    worker = Worker(queue, handler=lambda job: worker.stop())
    worker.run()
    assert len(queue.acked) == 1, "the second job is left for the next worker"
