"""The Celery app: queues, delivery guarantees and the broker options, from Settings.

Why these settings:
- ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged only after
  its task returned, so a worker that dies mid-sync leaves it unacknowledged and the broker
  hands it to another worker. Tasks are idempotent (``service/jobs.py``), so a second
  delivery never syncs twice nor sends an email twice.
- ``worker_prefetch_multiplier=1``: a busy worker does not sit on messages others could run.
- Redis has no connection-bound acknowledgement: an unacknowledged message comes back after
  the ``visibility_timeout`` (``ROSTERSYNC_BROKER_VISIBILITY_TIMEOUT_S``). RabbitMQ gives it
  back as soon as the dead worker's connection drops.
- Two queues: hold actions go to ``rostersync.urgent`` so an admin's click does not wait
  behind scheduled syncs (run one worker with ``--queues rostersync.urgent`` for that).
- No result backend: outcomes live in the database (runs, admin actions).
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from rostersync.settings import Settings

DEFAULT_QUEUE = "rostersync"
URGENT_QUEUE = "rostersync.urgent"
SYNC_TASK = "rostersync.sync"
ACTION_TASK = "rostersync.action"
DELIVER_TASK = "rostersync.deliver_outbox"
BROKER_SCHEMES = ("redis://", "rediss://", "amqp://", "amqps://", "pyamqp://")


def celery_config(settings: Settings) -> dict[str, Any]:
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": _transport_options(settings.broker_visibility_timeout_s),
        "task_queues": (Queue(URGENT_QUEUE), Queue(DEFAULT_QUEUE)),
        "task_default_queue": DEFAULT_QUEUE,
        "task_routes": {ACTION_TASK: {"queue": URGENT_QUEUE}},
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
    }


def _transport_options(visibility_timeout_s: float) -> dict[str, Any]:
    """Redis: how long until an unacknowledged job is handed out again, and how often the
    live workers look for such jobs (a fifth of the timeout, between 1 s and 10 s)."""
    return {
        "visibility_timeout": visibility_timeout_s,
        "unacked_restore_interval": max(1.0, min(10.0, visibility_timeout_s / 5)),
        "unacked_restore_throttle": 1,
    }


def create_app(settings: Settings) -> Celery:
    """A configured app with the tasks registered (one per process that needs it)."""
    from rostersync.worker.tasks import register_tasks

    app = Celery("rostersync", set_as_current=False)
    app.conf.update(celery_config(settings))
    register_tasks(app)
    return app
