"""Runs the worker: `python -m ${{ values.package }}`, configured from the environment."""

from __future__ import annotations

import logging
import os
import signal

import redis

from .worker import DEFAULT_MAX_ATTEMPTS, DEFAULT_QUEUE, RedisQueue, Worker


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
    queue = RedisQueue(client, os.environ.get("WORKER_QUEUE", DEFAULT_QUEUE))
    worker = Worker(queue, max_attempts=int(os.environ.get("WORKER_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)))
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.run()


if __name__ == "__main__":
    main()
