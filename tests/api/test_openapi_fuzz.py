"""Generated requests against every operation of the OpenAPI spec (schemathesis): never a server error.

Hypothesis draws path ids, query strings and bodies from the spec's own schemas, valid and invalid, and
sends them through the WSGI app to a real database, as a process admin and as a unit's clerk. Whatever
arrives, the answer must be a 2xx, a 4xx with field errors, or a 404 — a 500 fails the test and names the
request that caused it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import select

from processes import catalog
from processes.store.models import User
from service.auth import new_token
from tests.conftest import fresh_database, make_app
from tests.workflows import bundle, linear, script_only, two_lanes

CALLERS = ("admin", "jyj_jb")
EXAMPLES = 15  # per operation; the bug this found first (a 30-digit id) needed fewer than ten


@pytest.fixture
def fuzzed(tmp_path: Path) -> Iterator[tuple[object, dict[str, str]]]:
    """An app on its own database with three processes deployed, and an API token per caller."""
    with fresh_database(tmp_path, prefix="fuzz") as url:
        app = make_app(url)
        state = app.extensions["egovflow"]
        tokens: dict[str, str] = {}
        with state.sessions() as session:
            files = {"linear.bpmn": linear(), "script_only.bpmn": script_only(), **bundle(two_lanes())}
            catalog.deploy(
                session,
                {name: text.encode() for name, text in files.items()},
                state.runtime.handlers,
                now=state.runtime.clock.now(),
            )
            for username in CALLERS:
                user = session.scalar(select(User).where(User.username == username))
                token, tokens[username] = new_token(user, "fuzz")
                session.add(token)
            session.commit()
        yield app, tokens
        state.engine.dispose()


def test_no_request_makes_the_api_fail(fuzzed) -> None:  # noqa: ANN001
    """Each operation gets its own generated requests, each sent as the admin and as the clerk."""
    app, tokens = fuzzed
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, [op.label for op in operations]

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def sent(case) -> None:  # noqa: ANN001
            for caller in CALLERS:
                headers = {"Authorization": f"Bearer {tokens[caller]}"}
                case.call_and_validate(headers=headers, checks=[not_a_server_error])

        sent()
