"""Alembic environment: runs on the connection ``ticketing.migrate`` hands over.

There is no alembic.ini: ``ticketing.migrate`` builds the configuration in code and passes an
open (sync-facing) connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from ticketing.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
