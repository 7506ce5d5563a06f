"""RedisQueue against a real Redis. Set REDIS_URL to run these tests (CI starts a Redis for them)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from ${{ values.package }}.worker import Job, RedisQueue

REDIS_URL = os.environ.get("REDIS_URL")

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")


@pytest.fixture
def queue() -> Iterator[RedisQueue]:
    client = redis.Redis.from_url(REDIS_URL or "")
    queue = RedisQueue(client, f"test-{uuid.uuid4().hex}")
    yield queue
    client.delete(queue.name, queue.processing, queue.dead)


def test_a_taken_job_is_held_until_it_is_acknowledged(queue: RedisQueue) -> None:
    first, second = Job(id="1").encode(), Job(id="2").encode()
    queue.client.lpush(queue.name, first, second)
    assert queue.take(timeout=1) == first, "the oldest job first"
    assert queue.client.lrange(queue.processing, 0, -1) == [first]
    queue.ack(first)
    assert queue.client.llen(queue.processing) == 0
    assert queue.client.lrange(queue.name, 0, -1) == [second]


def test_retry_and_bury_move_the_job(queue: RedisQueue) -> None:
    raw = Job(id="1").encode()
    queue.client.lpush(queue.name, raw)
    taken = queue.take(timeout=1)
    assert taken is not None and taken == raw
    queue.retry(taken, Job(id="1").next_attempt())
    assert queue.client.llen(queue.processing) == 0
    again = queue.take(timeout=1)
    assert again is not None and Job.decode(again).attempt == 2
    queue.bury(again)
    assert queue.client.lrange(queue.dead, 0, -1) == [again]
    assert queue.take(timeout=1) is None
