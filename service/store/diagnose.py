"""Why a PostgreSQL log cannot be opened, in words that say what to do.

The connection pool only reports that it "couldn't get a connection after 5.00 sec", the same
text for a server that is down, a database that does not exist and a role that does not; one
direct connection tells them apart.
"""

from __future__ import annotations

from ticketsync.service.config import Database


def why_unreachable(database: Database, timeout: float = 3.0) -> str | None:
    """What is wrong with the PostgreSQL server at `database`, or None when it answers."""
    import psycopg

    try:
        psycopg.connect(
            host=database.host,
            port=database.port,
            user=database.user,
            password=database.password,
            dbname=database.dbname,
            connect_timeout=max(1, int(timeout)),
        ).close()
    except psycopg.OperationalError as error:
        text = str(error)
        where = f"{database.host}:{database.port}"
        if f'database "{database.dbname}" does not exist' in text:
            return (
                f"the PostgreSQL server at {where} has no database {database.dbname!r} "
                f"(create it: createdb -h {database.host} -p {database.port} "
                f"-U {database.user} {database.dbname})"
            )
        if f'role "{database.user}" does not exist' in text:
            return f"the PostgreSQL server at {where} has no role {database.user!r}"
        if "password authentication failed" in text:
            return f"the PostgreSQL server at {where} refused the password of {database.user!r}"
        if "Is the server running" in text or "timeout expired" in text:
            return f"no PostgreSQL server answers at {where} (is it running?)"
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[0] if lines else type(error).__name__
    return None
