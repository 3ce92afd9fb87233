"""The ingest ceiling: a bare Starlette app that checks the HMAC and inserts the raw body.

Same uvicorn settings and the same database as ticketsync, and nothing else: no typed
validation, no deduplication, no audit index, no group commit, no workers. Run it as
`uvicorn bench.ceiling_app:app` with BENCH_DATABASE_URL and BENCH_SECRET set.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ticketsync.adapters.chat import signing
from ticketsync.events.errors import Refused

URL = os.environ["BENCH_DATABASE_URL"]
KEY = signing.decode_secret(os.environ["BENCH_SECRET"])


class Sink:
    """One INSERT and one COMMIT per request, as the simplest durable receiver would do."""

    def __init__(self, url: str):
        self.local = threading.local()
        self.url = url
        with self.connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS ceiling (id TEXT PRIMARY KEY, body TEXT)")

    def connect(self):
        if self.url.startswith("sqlite:///"):
            db = sqlite3.connect(
                self.url.removeprefix("sqlite:///"), timeout=10, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            return db
        import psycopg

        base, _, query = self.url.partition("?")
        schema = query.removeprefix("schema=") or "public"
        db = psycopg.connect(base)
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        db.execute(f'SET search_path TO "{schema}"')
        db.commit()
        return db

    def insert(self, webhook_id: str, body: str) -> None:
        db = getattr(self.local, "db", None)
        if db is None:
            db = self.local.db = self.connect()
        marker = "?" if isinstance(db, sqlite3.Connection) else "%s"
        db.execute(f"INSERT INTO ceiling VALUES ({marker}, {marker})", (webhook_id, body))
        db.commit()


sink = Sink(URL)


async def receive(request: Request) -> JSONResponse:
    body = await request.body()
    try:
        webhook_id = signing.verify(body, request.headers, [KEY], time.time())
    except Refused as rejected:
        return JSONResponse({"error": rejected.code}, status_code=401)
    await run_in_threadpool(sink.insert, webhook_id, body.decode())
    return JSONResponse({"status": "accepted", "event_id": webhook_id}, status_code=202)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[Route("/webhooks/chat", receive, methods=["POST"]), Route("/healthz", healthz)]
)
