"""What a scrape answers: the registry of one process, and the listener of a lone worker.

`serve` answers its own metrics (its webhook targets', its process's `process_*`), its
worker child's counters and histograms, read from the files the child keeps in the
shared directory (shared.py), with the child's CPU and memory as
`ticketsync_worker_process_*`, and the gauges of the whole service, read from the database
(gauges.py). A lone `ticketsync worker` answers its own and the same gauges on a listener
of its own, when one is configured.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import orjson
from prometheus_client import REGISTRY, CollectorRegistry, ProcessCollector
from prometheus_client.exposition import choose_encoder, make_wsgi_app
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from ticketsync.service.bootstrap import Container
from ticketsync.service.metrics.gauges import StoreCollector
from ticketsync.service.metrics.webhook_metrics import WebhookMetrics

logger = logging.getLogger(__name__)


class Merged(Collector):
    """Several collectors as one: a family that more than one yields is answered once.

    `serve`'s own registry defines the outbox's counters (with no samples: it sends
    nothing) and its child's files hold them (with samples); the text format allows one
    block per name. Samples of one name and labels are summed (counts of two processes).
    """

    def __init__(self, collectors: Iterable[Collector]):
        self.collectors = tuple(collectors)

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for collector in self.collectors:
            for family in collector.collect():
                known = families.get(family.name)
                if known is None:
                    families[family.name] = family
                    continue
                known.samples = _summed([*known.samples, *family.samples])
        yield from families.values()


def _summed(samples: list[Sample]) -> list[Sample]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], Sample] = {}
    for sample in samples:
        key = (sample.name, tuple(sorted(sample.labels.items())))
        seen = found.get(key)
        found[key] = sample if seen is None else seen._replace(value=seen.value + sample.value)
    return list(found.values())


class ChildFiles(Collector):
    """The worker child's metrics, from its files in `folder` (multiprocess mode).

    A file the child is creating at the moment of a scrape is empty for an instant; read
    as it is, prometheus-client's reader fails on it and the whole scrape with it. Such a
    file holds no sample yet, so it is passed over (its size only grows from there).
    """

    def __init__(self, folder: Path):
        self.folder = folder

    def collect(self) -> Iterable[Metric]:
        files = [str(path) for path in self.folder.glob("*.db") if _has_header(path)]
        return MultiProcessCollector.merge(files, accumulate=True)


def _has_header(path: Path) -> bool:
    try:
        return path.stat().st_size >= 8  # the header: how much of the file is in use
    except FileNotFoundError:  # a dead process's files, removed since the glob
        return False


class Forward(Collector):
    """Another registry's metrics, collected into this one."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def registry(
    container: Container,
    webhooks: WebhookMetrics | None = None,
    *,
    shared: Path | None = None,
    worker_pid: Callable[[], int | None] | None = None,
) -> CollectorRegistry:
    """The registry a scrape of this process answers from.

    This process's own metrics (prometheus-client's default registry, with its process
    collectors), its webhook targets' `webhooks`, the worker child's files in `shared` and
    its CPU and memory by `worker_pid` (in `serve`), and the gauges read from the database.
    """
    collectors: list[Collector] = [Forward(REGISTRY)]
    if webhooks is not None:
        collectors.append(webhooks)
    if shared is not None:
        collectors.append(ChildFiles(shared))
    if worker_pid is not None:
        # -1 once the child has ended: no such process, so nothing is shown for it.
        collectors.append(
            ProcessCollector(
                namespace="ticketsync_worker", pid=lambda: worker_pid() or -1, registry=None
            )
        )
    collectors.append(
        StoreCollector(container.log, container.store, (container.projector.name,), container.clock)
    )
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(Merged(collectors))
    return scraped


def render(scraped: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The scrape's body and content type: Prometheus text, or OpenMetrics when asked."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(scraped), content_type


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes come every few seconds; they are not worth a line each."""


def _error(start_response: Callable, status: str, code: str, detail: str, headers=()) -> list:
    body = orjson.dumps({"error": code, "detail": detail})
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers],
    )
    return [body]


def metrics_app(scraped: CollectorRegistry, admin_token: str) -> Callable:
    """A WSGI app answering GET /metrics from `scraped`, behind the admin token as in `serve`."""
    inner = make_wsgi_app(scraped)
    expected = admin_token.encode()

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            return _error(start_response, "404 Not Found", "not_found", "only /metrics is here")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _error(
                start_response,
                "405 Method Not Allowed",
                "method_not_allowed",
                "Method Not Allowed",
                [("Allow", "GET")],
            )
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if not (
            scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)
        ):
            return _error(
                start_response,
                "401 Unauthorized",
                "unauthorized",
                "a valid 'Authorization: Bearer <admin token>' is required",
                [("WWW-Authenticate", "Bearer")],
            )
        return inner(environ, start_response)

    return app


class Listener:
    """A lone worker's metrics-only HTTP listener, in a thread of its own."""

    def __init__(self, host: str, port: int, scraped: CollectorRegistry, admin_token: str):
        self.server = make_server(
            host,
            port,
            metrics_app(scraped, admin_token),
            server_class=_Server,
            handler_class=_QuietHandler,
        )
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="metrics-listener", daemon=True
        )
        self.thread.start()
        logger.info("worker.metrics_listening", extra={"host": host, "port": self.port})

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
