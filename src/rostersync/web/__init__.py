"""The admin dashboard and the JSON API (FastAPI, server-rendered Jinja2 pages).

An entry point like the CLI: it reads settings, builds services through ``bootstrap`` and
calls the service layer (never the store). ``create_app`` builds the ASGI app;
``rostersync serve`` runs it with uvicorn beside the in-process scheduler.
"""
