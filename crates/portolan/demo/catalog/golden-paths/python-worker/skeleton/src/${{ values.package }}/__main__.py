"""Runs the worker, `python -m ${{ values.package }}`, configured from the environment; with `--check-heartbeat`,
checks instead that a running worker is alive (for the liveness probe and the image's HEALTHCHECK)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import redis

from . import logs
from .worker import DEFAULT_DEAD_LETTER, DEFAULT_MAX_ATTEMPTS, DEFAULT_QUEUE, RedisQueue, Worker, heartbeat_is_fresh


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="${{ values.name }}", description=__doc__)
    parser.add_argument("--check-heartbeat", action="store_true", help="exit 0 when the worker is alive, 1 otherwise")
    args = parser.parse_args()
    heartbeat = Path(os.environ.get("WORKER_HEARTBEAT_FILE", "/tmp/${{ values.name }}.heartbeat"))
    if args.check_heartbeat:
        max_age = float(os.environ.get("WORKER_HEARTBEAT_MAX_AGE", "60"))
        sys.exit(0 if heartbeat_is_fresh(heartbeat, max_age) else 1)

    logs.configure(os.environ.get("LOG_LEVEL", "INFO"), json_lines=os.environ.get("LOG_FORMAT") == "json")
    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
    worker = Worker(
        RedisQueue(client, os.environ.get("WORKER_QUEUE", DEFAULT_QUEUE)),
        max_attempts=int(os.environ.get("WORKER_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)),
        dead_letter=env_flag("WORKER_DEAD_LETTER", DEFAULT_DEAD_LETTER),
        heartbeat=heartbeat,
    )
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.run()


if __name__ == "__main__":
    main()
