"""Alembic environment: both the engine's and the domain handlers' tables."""

from alembic import context

from handlers.models import DomainBase
from processes.store.db import make_engine
from processes.store.models import Base

target_metadata = [Base.metadata, DomainBase.metadata]


def run_migrations() -> None:
    """Run migrations online against the configured URL."""
    url = context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
