"""The `ticketsync` command (CONTRACT section 1)."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from ticketsync.events.errors import ConfigError, StoreUnavailable, TicketsyncError
from ticketsync.service import config
from ticketsync.service.queries import audit

if TYPE_CHECKING:  # the commands import the service late, to start fast
    from ticketsync.service.bootstrap import Container


def _fail(message: str, code: int = 2) -> int:
    print(f"ticketsync: {message}", file=sys.stderr)
    return code


def _existing_store(settings: config.Settings) -> None:
    """Refuse to read a SQLite store that does not exist: only `serve` makes one. Otherwise a
    command run in the wrong folder would make an empty one and answer "no events" for a
    conversation that exists elsewhere.

    Raises ConfigError naming the URL and the folder it was looked for in.
    """
    database = settings.database
    if database.kind != "sqlite" or database.path == ":memory:" or Path(database.path).exists():
        return
    raise ConfigError(
        f"no database at {database.describe()} (looked in {Path.cwd()}): run this where "
        "`ticketsync serve` runs, or set TICKETSYNC_DATABASE_URL to its database"
    )


def _save_in_env(values: dict[str, str], path: Path) -> None:
    """Set `values` in the .env file at `path`: a variable's line is replaced where it is,
    the others are added at the end; comments and other lines stay as they are."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    left = dict(values)
    for number, line in enumerate(lines):
        # The name as config.read_dotenv reads it.
        name = line.strip().removeprefix("export ").partition("=")[0].strip()
        if name in left:
            lines[number] = f"{name}={left.pop(name)}"
    lines += [f"{name}={value}" for name, value in left.items()]
    # The file holds the admin token: readable by its owner alone (0600), or by fewer where
    # an existing file was already stricter (docs/behaviour.md, Limits).
    mode = 0o600
    if path.exists():
        mode &= path.stat().st_mode
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), mode)
        file.write("\n".join(lines) + "\n")


def _port_taken(host: str, port: int) -> str | None:
    """Why `serve` cannot listen at host:port, before it says it serves or starts a child;
    None when it can. The probe is closed again at once, for uvicorn to bind."""
    import errno
    import socket

    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as error:
        return f"cannot listen on {host!r}: {error} (choose another with --host)"
    with socket.socket(family, kind, protocol) as probe:
        # As uvicorn binds: an address in TIME_WAIT after a restart is not taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is taken (by another service, or a ticketsync "
                    f"already running): choose another with --port, e.g. --port {port + 1}, "
                    f"or `make run PORT={port + 1}`"
                )
            return f"cannot listen on {host}:{port}: {error.strerror} (choose another with --host or --port)"
    return None


def _dev_inbox_url(url: str | None) -> bool:
    """Whether a reply URL is the stand-in inbox that `serve --dev` hosts (and saves in .env)."""
    from urllib.parse import urlsplit

    from ticketsync.service.cli.dev_inbox import ROUTE

    return url is not None and urlsplit(url).path == ROUTE


def _url_host(host: str) -> str:
    """`host` as a URL names it on this machine: all interfaces as 127.0.0.1, an IPv6
    address in brackets."""
    if host in ("0.0.0.0", "::"):  # noqa: S104
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _dev_public_url(settings: config.Settings, host: str, port: int) -> config.Settings:
    """Where this development service is reached, saved in .env as TICKETSYNC_PUBLIC_URL, so
    that `simulate`, the README's examples and alert links find it on whatever port it took.
    A public URL set by hand (any other host than this machine's) is left as it is."""
    from dataclasses import replace
    from urllib.parse import urlsplit

    url = f"http://{_url_host(host)}:{port}"
    given = config.environment().get("TICKETSYNC_PUBLIC_URL")
    reachable = urlsplit(url).hostname
    if given and urlsplit(given).hostname not in ("127.0.0.1", "localhost", "::1", reachable):
        return settings
    if given != url:
        _save_in_env({"TICKETSYNC_PUBLIC_URL": url}, Path.cwd() / ".env")
    return replace(settings, public_url=url)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ticketsync.service import bootstrap, logs
    from ticketsync.service.http import app as http
    from ticketsync.service.http.protocol import LimitedHttpToolsProtocol

    settings = bootstrap.load_settings()
    if not args.dev and _dev_inbox_url(settings.chat_reply_url):
        return _fail(
            "TICKETSYNC_CHAT_REPLY_URL is the stand-in inbox that only --dev hosts "
            "(use --dev, or set your chat platform's reply URL)"
        )
    missing = config.missing_secrets(settings)
    # Every variable that is missing, in one message: those --dev cannot generate first.
    config.require_desk(settings, also=() if args.dev else missing)
    if missing and not args.dev:
        names = " and ".join(missing)
        verb, pronoun = ("is", "it") if len(missing) == 1 else ("are", "them")
        return _fail(
            f"{names} {verb} not set (set {pronoun} in the environment or .env, or use --dev)"
        )
    if missing:
        settings, generated = bootstrap.with_generated_secrets(settings)
        _save_in_env(generated, Path.cwd() / ".env")
        print("ticketsync: --dev generated what was missing (saved to .env, shown only now):")
        for name, value in generated.items():
            print(f"  {name}={value}")
    short = config.short_tokens(settings)
    if short:
        return _fail(short[0])
    taken = _port_taken(args.host, args.port)
    if taken:
        return _fail(taken)
    logs.configure(dev=args.dev, level=settings.log_level)
    if args.dev:
        settings = _dev_public_url(settings, args.host, args.port)
    inbox = None
    if args.dev and (not settings.chat_reply_url or _dev_inbox_url(settings.chat_reply_url)):
        # No chat platform to reply to in development: replies go to our own stand-in. What
        # was chosen is saved in .env, so that every command run here (rebuild, verify, a
        # worker) decides with the same settings as this service.
        from dataclasses import replace

        from ticketsync.service.cli.dev_inbox import ROUTE

        inbox = bootstrap.dev_inbox(settings.chat_reply_secret or bootstrap.new_chat_secret())
        chosen = {
            "TICKETSYNC_CHAT_REPLY_URL": f"http://{_url_host(args.host)}:{args.port}{ROUTE}",
            "TICKETSYNC_CHAT_REPLY_SECRET": inbox.secret,
        }
        if (settings.chat_reply_url, settings.chat_reply_secret) != tuple(chosen.values()):
            _save_in_env(chosen, Path.cwd() / ".env")
        settings = replace(
            settings,
            chat_reply_url=chosen["TICKETSYNC_CHAT_REPLY_URL"],
            chat_reply_secret=inbox.secret,
        )
        print(
            f"ticketsync: --dev: agents' replies go to {settings.chat_reply_url} "
            "(list them with GET; saved in .env)"
        )
    try:
        # The workers run in a child process (below); this one checks the help desk all the
        # same, so that a wrong credential stops `serve` itself, in one line.
        container = bootstrap.build(settings, run_workers=False, check_desk=True, dev_inbox=inbox)
    except StoreUnavailable as error:
        return _fail(str(error), 1)
    child = shared = None
    if not args.no_workers:
        import signal

        from ticketsync.service.cli.processes import WorkerChild
        from ticketsync.service.metrics.shared import SharedMetrics

        def workers_exited(code: int) -> None:
            # Without its workers this service would take webhooks and act on none: stop,
            # and let whatever runs it start both again.
            os.kill(os.getpid(), signal.SIGTERM)

        # The child's counters and histograms reach this process's /metrics through files.
        shared = SharedMetrics()
        child = WorkerChild(
            dev=args.dev,
            on_exit=workers_exited,
            environment=shared.environment(),
            on_ended=shared.process_ended,
        )
        container.wake_elsewhere.append(child.waker.poke)
    print(
        f"ticketsync: serving on http://{args.host}:{args.port} "
        f"(log: {settings.database.describe()}, ticketing: {settings.ticketing}"
        f"{', workers in process ' + str(child.process.pid) if child else ', no workers'})",
        flush=True,
    )
    tidied = False

    def tidy() -> None:
        nonlocal tidied
        if tidied:
            return
        tidied = True
        if child is not None:
            child.stop()
        if shared is not None:
            shared.close()

    if shared is not None:
        import signal

        def ended_by(signum: int, frame: object) -> None:
            # uvicorn raises SIGTERM again once it has shut down, and the default action
            # ends the process at once, past any `finally`: remove the metrics directory
            # first, then end as the signal asked.
            tidy()
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

        signal.signal(signal.SIGTERM, ended_by)
    try:
        uvicorn.run(
            http.asgi(
                container,
                shared_metrics=shared.path if shared else None,
                worker_pid=child.pid if child else None,
            ),
            host=args.host,
            port=args.port,
            log_config=None,
            access_log=False,
            server_header=False,
            # httptools, with limits on each request's head (docs/behaviour.md, "Limits").
            http=LimitedHttpToolsProtocol,
        )
    finally:
        tidy()
        container.close()
    return 0


def worker(args: argparse.Namespace) -> int:
    from ticketsync.service import bootstrap, logs
    from ticketsync.service.cli.processes import run_workers

    settings = bootstrap.load_settings()
    if args.watch_fd is None and settings.worker_metrics_listen and not settings.admin_token:
        return _fail(
            "TICKETSYNC_WORKER_METRICS_LISTEN is set but TICKETSYNC_ADMIN_TOKEN is not "
            "(the metrics listener asks for it, as serve's /metrics does)"
        )
    if args.watch_fd is None and settings.worker_metrics_listen:
        short = config.short_tokens(settings)
        if short:
            return _fail(short[0])
    logs.configure(dev=args.dev, level=settings.log_level)
    try:
        return run_workers(settings, watch_fd=args.watch_fd)
    except StoreUnavailable as error:
        return _fail(str(error), 1)


def mcp_command(args: argparse.Namespace) -> int:
    import anyio

    from ticketsync.service import bootstrap, logs

    settings = bootstrap.load_settings()
    # stdout is the protocol's channel: a log line there would break the agent's session.
    logs.configure(dev=False, level=settings.log_level, stream=sys.stderr)
    _existing_store(settings)
    # The workers run in `serve` (or `ticketsync worker`) on the same database; this process
    # stores what the tools say and reads the read models.
    container = bootstrap.build(settings, run_workers=False)
    try:
        from ticketsync.service.agent import mcp

        container.start()
        anyio.run(mcp.build(container).run_stdio_async)
    except KeyboardInterrupt:
        pass
    finally:
        container.close()
    return 0


def _bar(progress: object) -> str:
    from ticketsync.service.workers.rebuild import Progress

    assert isinstance(progress, Progress)
    done = progress.position / progress.head if progress.head else 1.0
    width = 30
    filled = int(done * width)
    eta = "" if progress.eta is None else f" ETA {progress.eta:5.1f}s"
    return (
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done:6.1%} "
        f"{progress.position:,}/{progress.head:,} events {progress.rate:,.0f} ev/s{eta}"
    )


def rebuild_command(args: argparse.Namespace) -> int:
    from ticketsync.service import bootstrap
    from ticketsync.service.workers.rebuild import (
        Rebuild,
        RebuildCancelled,
        RebuildRefused,
        check_names,
    )

    try:
        check_names(args.names)
    except RebuildRefused as error:
        return _fail(str(error))
    settings = bootstrap.load_settings()
    _existing_store(settings)
    container = bootstrap.build(settings, run_workers=False)
    try:
        head = container.log.position()
        check = args.check or args.command == "verify"
        if not check and not args.yes:
            if not sys.stdin.isatty():
                return _fail("rebuild replaces the live read models; confirm with --yes")
            answer = input(
                f"Rebuild {', '.join(check_names(args.names))} from {head:,} events? [y/N] "
            )
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing done")
                return 1
        show = sys.stderr.isatty() and not args.quiet

        def progress(state: object) -> None:
            if show:
                sys.stderr.write(_bar(state))
                sys.stderr.flush()

        rebuild = Rebuild(
            container.store,
            container.projector.policy,
            check=check,
            on_progress=progress,
            parse_stored=container.projector.parse_stored,
        )
        try:
            rebuild.claim()
            result = rebuild.run()
        except RebuildRefused as error:
            return _fail(str(error), 1)
        except (KeyboardInterrupt, RebuildCancelled):
            if show:
                sys.stderr.write("\n")
            return _fail("interrupted; the live read models are as they were", 130)
        if show:
            sys.stderr.write("\n")
        summary = result.as_dict()
        if args.json:
            print(orjson.dumps(summary).decode())
        else:
            verb = "checked" if check else "rebuilt"
            print(
                f"{verb} {', '.join(result.projections)}: {result.events_read:,} events in "
                f"{summary['elapsed_seconds']:.2f} s ({summary['events_per_second']:,.0f} events/s)"
            )
            differing = []
            for model, rows in result.rows.items():
                line = f"  {model}: {rows:,} rows"
                if check:
                    sums = result.checksums
                    line += f", sha256 {sums['rebuilt'][model]['sha256'][:16]}"
                    if sums["rebuilt"][model] != sums["live"][model]:
                        differing.append(model)
                        line += f" (live: {sums['live'][model]['sha256'][:16]})"
                print(line)
            decisions = (
                f"{result.difference_count} decisions differ from those made live (not acted on)"
            )
            if not check:
                # One verdict, in words that do not contradict each other.
                print(
                    f"  {decisions}:"
                    if result.difference_count
                    else "  every decision matches the one made live"
                )
            elif differing:
                also = f"; {decisions}" if result.difference_count else ""
                print(f"differs: {', '.join(differing)} differ from the live models{also}")
            elif result.difference_count:
                print(f"differs: the rebuilt models equal the live ones, but {decisions}:")
            else:
                print("matches: the rebuilt models and every decision equal the live ones")
            for difference in result.differences:
                print(
                    f"    {difference['call_id']} {difference['kind']}: decided only by the {difference['decided_by']}"
                )
        if not check:
            return 0
        return 0 if result.matches and not result.difference_count else 3
    finally:
        container.close()


def simulate_command(args: argparse.Namespace) -> int:
    from ticketsync.service import bootstrap
    from ticketsync.service.cli import simulate

    settings = bootstrap.load_settings()
    try:
        simulate.run(args.url or settings.public_url, args.scenario, settings)
    except simulate.SimulationFailed as error:
        return _fail(str(error), 1)
    return 0


def explain_command(args: argparse.Namespace) -> int:
    from ticketsync.events import conversation_ids
    from ticketsync.service import bootstrap
    from ticketsync.service.queries import views

    problem = conversation_ids.problem(args.conversation)
    if problem is not None:
        return _fail(f"--conversation {problem}; an id is {conversation_ids.RULE}")
    settings = bootstrap.load_settings()
    _existing_store(settings)
    container = bootstrap.build(settings, run_workers=False)
    try:
        explained = views.explain(container, args.conversation)
    finally:
        container.close()
    if explained is None:
        return _fail(f"no conversation {args.conversation!r}", 1)
    if args.json:
        print(orjson.dumps(explained).decode())
        return 0
    verdict = "needs a ticket" if explained["needs_ticket"] else "needs no ticket"
    print(f"conversation {explained['conversation_id']} {verdict}")
    for reason in explained["reasons"]:
        print(f"  - {reason}")
    route = explained["route"]
    print(f"route: {route['because']}; tags {', '.join(route['tags'])}")
    print(f"control: {explained['control']}")
    if explained["pending"]:
        print("waiting:")
        for line in explained["pending"]:
            print(f"  - {line}")
    else:
        print("waiting: nothing")
    return 0


def audit_command(args: argparse.Namespace) -> int:
    from ticketsync.service import bootstrap
    from ticketsync.service.store.log import EventLog

    settings = bootstrap.load_settings()
    params = {"limit": str(audit.MAX_LIMIT)}
    if args.conversation:
        params["conversation_id"] = args.conversation
    if args.ticket:
        params["ticket"] = args.ticket
    if args.type:
        params["type"] = args.type
    if args.since:
        params["since"] = args.since
    try:
        query = audit.query_from(params)
    except audit.BadQuery as bad:
        flag = "conversation" if bad.field == "conversation_id" else bad.field
        return _fail(f"--{flag}: {bad.detail}")
    _existing_store(settings)
    log = EventLog(settings.database)
    try:
        rows = []
        while True:
            events, cursor = audit.page(log, query)
            for event in events:
                if args.json:
                    sys.stdout.write(orjson.dumps(event).decode() + "\n")
                else:
                    rows.append(event)
            if cursor is None:
                break
            query = audit.AuditQuery(**{**query.__dict__, "after": cursor})
    finally:
        log.close()
    if not args.json:
        _print_table(rows)
    return 0


def outbox_command(args: argparse.Namespace) -> int:
    from ticketsync.service import bootstrap
    from ticketsync.service.workers.outbox import NotParked

    settings = bootstrap.load_settings()
    _existing_store(settings)
    container = bootstrap.build(settings, run_workers=False)
    try:
        if args.action == "list":
            return _list_calls(container, args)
        if args.all_parked:
            return _retry_parked(container)
        if args.id is None:
            return _fail("name a call id, or --all-parked")
        try:
            call = container.dispatcher.retry(args.id)
        except NotParked as refused:
            return _fail(refused.detail, 1)
        if call is None:
            return _fail(f"no call {args.id!r}", 1)
        print(f"{args.id}: due now (a running service sends it within a second)")
        return 0
    finally:
        container.close()


def _list_calls(container: Container, args: argparse.Namespace) -> int:
    """One page of `outbox list`, and the command for the next one when there is one."""
    from ticketsync.service.queries import outbox, views

    try:
        query = outbox.query_from({"state": args.state, "after": args.after, "limit": args.limit})
    except audit.BadQuery as bad:
        return _fail(f"--{bad.field}: {bad.detail}")
    calls, cursor = container.store.calls_page(query.state, query.after, query.limit)
    if args.json:
        for call in calls:
            sys.stdout.write(orjson.dumps(views.call(call)).decode() + "\n")
    elif not calls:
        print("no calls")
    else:
        print(f"{'ID':24} {'STATE':8} {'KIND':14} {'ATTEMPTS':>8}  {'CONVERSATION':24} LAST ERROR")
        for call in calls:
            print(
                f"{call.call_id:24} {call.state:8} {call.kind:14} {call.attempts:8d}  "
                f"{call.conversation_id:24} {call.last_error or ''}"
            )
    if cursor is not None:
        again = ["ticketsync outbox list"]
        again += [f"--state {query.state}"] if query.state else []
        again += [f"--limit {query.limit}"] if args.limit is not None else []
        again += ["--json"] if args.json else []
        # Beside JSON lines, on stderr: stdout stays one call per line.
        print(
            f"more calls: {' '.join([*again, f'--after {cursor}'])}",
            file=sys.stderr if args.json else sys.stdout,
        )
    return 0


def _retry_parked(container: Container) -> int:
    """`outbox retry --all-parked`: every parked call, page by page, however many."""
    after: int | None = 0
    retried = 0
    while after is not None:
        calls, after = container.dispatcher.retry_parked(after)
        for call in calls:
            print(f"{call.call_id}: due now")
        retried += len(calls)
    if not retried:
        print("no parked calls")
    else:
        print(f"{retried} call{'' if retried == 1 else 's'} due now (a running service sends them)")
    return 0


def _print_table(events: list[dict]) -> None:
    if not events:
        print("no events")
        return
    # CAUSE is the position of the entry that caused this one: the chain from a delivery
    # to the decisions it led to and the calls they made.
    header = ("POSITION", "CAUSE", "RECORDED AT", "SOURCE", "TYPE", "SUMMARY")
    rows = [
        (
            str(e["position"]),
            str(e["caused_by"]["position"] or "?") if e["caused_by"] else "",
            e["recorded_at"][:19].replace("T", " "),
            e["source"],
            e["type"],
            audit.summarize(e),
        )
        for e in events
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    for row in [header, *rows]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[5]
        )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="ticketsync",
        description="Keeps AI support conversations and help-desk tickets in sync.",
        epilog="Every command reads its settings from the environment and from a .env file in "
        "the folder it runs in (the environment wins); `serve --dev` writes that .env.",
    )
    top.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {importlib.metadata.version('ticketsync')}",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "serve", help="run the HTTP service, and its workers in a child process"
    )
    run.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 for all)",
    )
    run.add_argument("--port", type=int, default=8000, help="the port to listen on (default: 8000)")
    run.add_argument(
        "--dev",
        action="store_true",
        help="generate the missing secrets and save them, with the service's URL, in .env; "
        "readable logs; agents' replies to a stand-in chat at /dev/chat-replies",
    )
    run.add_argument(
        "--no-workers",
        action="store_true",
        help="HTTP only: no projection runners or outbox (run `ticketsync worker` beside it)",
    )
    run.set_defaults(handler=serve)

    work = commands.add_parser(
        "worker", help="run the projection runners and the outbox dispatcher, without HTTP"
    )
    work.add_argument("--dev", action="store_true", help="readable logs instead of JSON lines")
    # Internal: the pipe from `serve` that wakes this process and whose end stops it.
    work.add_argument("--watch-fd", type=int, default=None, help=argparse.SUPPRESS)
    work.set_defaults(handler=worker)

    why = commands.add_parser(
        "explain", help="why a conversation has or has no ticket, its route, and what waits"
    )
    why.add_argument(
        "--conversation",
        metavar="ID",
        required=True,
        help="the conversation's id, as the chat sent it",
    )
    why.add_argument(
        "--json", action="store_true", help="the JSON of GET /conversations/{id}/explain"
    )
    why.set_defaults(handler=explain_command)

    trail = commands.add_parser("audit", help="print what happened to a conversation or ticket")
    target = trail.add_mutually_exclusive_group(required=True)
    target.add_argument("--conversation", metavar="ID", help="everything about this conversation")
    target.add_argument(
        "--ticket", metavar="SYSTEM:ID", help="everything about this ticket, e.g. zendesk:123"
    )
    trail.add_argument("--type", metavar="T", help="only events of this type")
    trail.add_argument(
        "--since", metavar="T", help="only events recorded at or after this ISO-8601 time"
    )
    trail.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    trail.set_defaults(handler=audit_command)

    outbox = commands.add_parser("outbox", help="inspect and retry outgoing calls")
    actions = outbox.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="list calls, oldest first",
        description="List outgoing calls, oldest first. Without --state, every state is "
        "listed, done calls included.",
    )
    listing.add_argument(
        "--state",
        choices=("pending", "parked", "done"),
        help="only the calls in this state (default: every state, done calls included)",
    )
    listing.add_argument(
        "--limit", metavar="N", help="at most N calls, from 1 to 1000 (default: 1000)"
    )
    listing.add_argument(
        "--after",
        metavar="CURSOR",
        help="the page after CURSOR, as the previous page's last line says",
    )
    listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    again = actions.add_parser("retry", help="make a parked call due again")
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="the call's id (see 'outbox list')")
    which.add_argument("--all-parked", action="store_true", help="every parked call")
    outbox.set_defaults(handler=outbox_command)

    again = commands.add_parser(
        "rebuild", help="rebuild read models from the whole log, with no outside calls"
    )
    again.add_argument("names", nargs="*", metavar="NAME", help="projections (default: all)")
    again.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    again.add_argument(
        "--check", action="store_true", help="rebuild aside and compare with the live models"
    )
    again.add_argument("--json", action="store_true", help="print the summary as JSON")
    again.add_argument("--quiet", action="store_true", help="no progress bar")
    again.set_defaults(handler=rebuild_command)

    verify = commands.add_parser(
        "verify", help="rebuild aside and report whether it equals the live models"
    )
    verify.add_argument(
        "names", nargs="*", metavar="NAME", help="projections to check (default: all)"
    )
    verify.add_argument("--json", action="store_true", help="print the summary as JSON")
    verify.add_argument("--quiet", action="store_true", help="no progress bar")
    verify.set_defaults(handler=rebuild_command, yes=True, check=True)

    agent = commands.add_parser(
        "mcp", help="serve the AI agent's tools over MCP's stdio transport (docs/mcp.md)"
    )
    agent.set_defaults(handler=mcp_command)

    from ticketsync.service.cli.simulate import ABOUT, SCENARIOS

    demo = commands.add_parser(
        "simulate", help="send an example conversation to a running service and narrate"
    )
    demo.add_argument(
        "--url",
        default=None,
        help="the running service (default: TICKETSYNC_PUBLIC_URL, which `serve --dev` saves "
        "in .env, else http://127.0.0.1:8000)",
    )
    demo.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="escalation",
        metavar="NAME",
        help="what to play (default: escalation): "
        + "; ".join(f"{name}: {about}" for name, about in ABOUT.items()),
    )
    demo.set_defaults(handler=simulate_command)
    return top


# The status a shell reports for a command killed by SIGPIPE (128 + 13), as `yes | head` does.
CLOSED_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader left (`| head`): stop quietly. Python flushes stdout again at exit,
        # so point it at /dev/null, or that flush fails too, and loudly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return CLOSED_PIPE


def _unknown_option(
    top: argparse.ArgumentParser, argv: Sequence[str]
) -> tuple[argparse.ArgumentParser, str] | None:
    """The first `--option` that the chosen command does not take, with the nearest one it
    does (argparse would first complain of a required option the typo left out), and that
    command's parser."""
    import difflib

    current = top
    for word in argv:
        if word == "--":
            break
        commands = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
        if commands and word in commands[0].choices:
            current = commands[0].choices[word]
            continue
        if word.startswith("--"):
            name = word.partition("=")[0]
            options = sorted({s for action in current._actions for s in action.option_strings})
            # argparse takes an unambiguous prefix (`--conv`); an ambiguous one it names itself.
            if name not in options and not any(option.startswith(name) for option in options):
                near = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
                hint = f"; did you mean {near[0]}?" if near else ""
                return current, f"unknown option {name}{hint}"
    return None


def _main(argv: Sequence[str] | None) -> int:
    top = parser()
    words = sys.argv[1:] if argv is None else list(argv)
    unknown = _unknown_option(top, words)
    if unknown is not None:
        command, message = unknown
        command.print_usage(sys.stderr)
        return _fail(message)
    args = top.parse_args(words)
    # Said once, by the command the user ran (not again by serve's worker child).
    if getattr(args, "watch_fd", None) is None:
        try:
            for warning in config.unknown_variables(config.environment()):
                print(f"ticketsync: warning: {warning}", file=sys.stderr)
        except ConfigError:
            pass  # a malformed .env is reported, as the error it is, when settings are read
    try:
        return args.handler(args)
    except ConfigError as error:
        return _fail(str(error))
    except StoreUnavailable as error:
        return _fail(str(error), 1)
    except TicketsyncError as error:
        return _fail(str(error), 1)


if __name__ == "__main__":
    sys.exit(main())
