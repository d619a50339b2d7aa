"""Celery workers (scale-out): the app, its thin tasks, beat and the job runner that enqueues.

An entry point like the CLI and the web app: tasks take ids, call one service function and
let the service record the outcome in the database. Nothing here touches the store except
through the service layer.
"""
