"""Browser-test fixtures: the app on a real server per module, one Chromium per module, screenshot helpers."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from processes import catalog
from processes.seed import DEMO_PASSWORD
from service.api.catalog import known_lanes_in
from tests.conftest import ROOT, fresh_database, make_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 768}
ISLANDS_SETTLED = """() => [...document.querySelectorAll(
    '[data-bpmn-viewer],[data-bpmn-modeler],[data-jsonschema-form],[data-chart],[data-migration]')]
    .every(el => ['ready', 'error'].includes(el.dataset.islandState))"""
PHONE = {"width": 375, "height": 740}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the browser tests, with the reason, when Chromium is not installed (CI installs it)."""
    for item in items:
        if item.get_closest_marker("browser") is None:
            continue
        if not CHROMIUM.exists():
            reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def module_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database only this module uses."""
    with fresh_database(tmp_path_factory.mktemp("browser"), prefix="b") as url:
        yield url


@dataclass
class LiveServer:
    """The app served over HTTP on 127.0.0.1 from a background thread."""

    app: object
    url: str

    def deploy(self, files: dict[str, bytes]) -> list[catalog.DeployedVersion]:
        """Deploy a bundle directly through the catalog, as `egovflow deploy` does."""
        state = self.app.extensions["egovflow"]  # type: ignore[attr-defined]
        with state.sessions() as session:
            versions = catalog.deploy(
                session,
                files,
                state.runtime.handlers,
                now=state.runtime.clock.now(),
                user="test",
                source="browser-test",
                lanes=known_lanes_in(session),
            )
            session.commit()
        return versions

    def deploy_repository_diagrams(self) -> list[catalog.DeployedVersion]:
        """Deploy bpmn/ with the forms it names from forms/."""
        return self.deploy(catalog.collect_files([ROOT / "bpmn"], ROOT / "forms"))


@pytest.fixture(scope="module")
def live_server(module_db_url: str) -> Iterator[LiveServer]:
    """Serve a fresh app (demo accounts, manual clock) on a free port for the whole module."""
    app = make_app(module_db_url)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=5)
    app.extensions["egovflow"].engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    chromium = manager.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
    yield chromium
    chromium.close()
    manager.stop()


@dataclass
class Visitor:
    """One user's browser tab: logs in, visits pages and saves a screenshot of each."""

    page: object
    base: str
    folder: Path
    name: str
    shots: list[Path] = field(default_factory=list)

    def goto(self, path: str, shot: bool = True) -> None:
        """Open a page of the app, wait until it and its islands have loaded, and keep a screenshot of it."""
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")
        if shot:
            self.islands_ready()
            self.shot(path.split("?")[0].strip("/").replace("/", "_") or "home")

    def login(self, username: str, password: str = DEMO_PASSWORD) -> None:
        """Log in through the log-in page."""
        self.goto("/login", shot=False)
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("load")

    def islands_ready(self, timeout: float = 15_000) -> None:
        """Wait until every island on the page has mounted (or failed, which the caller then sees)."""
        self.page.wait_for_function(ISLANDS_SETTLED, timeout=timeout)

    def shot(self, label: str) -> Path:
        """Save a full-page screenshot under tests/artifacts/<module>/."""
        self.folder.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.-]+", "-", label).strip("-")
        path = self.folder / f"{len(list(self.folder.glob('*.png'))) + 1:02d}-{self.name}-{safe}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path

    def close(self) -> None:
        """Close the tab and its browser context."""
        self.page.context.close()


@pytest.fixture(scope="module")
def artifact_dir(request: pytest.FixtureRequest) -> Path:
    """tests/artifacts/<module>/, emptied when the module starts."""
    folder = ARTIFACTS / request.module.__name__.rsplit(".", 1)[-1]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def visit(browser: object, live_server: LiveServer, artifact_dir: Path) -> Iterator[object]:
    """Return a factory of logged-in tabs: `visit("jyj_jb")`, `visit("jyj_jb", phone=True)`."""
    opened: list[Visitor] = []
    folder = artifact_dir

    def open_tab(username: str | None = None, phone: bool = False) -> Visitor:
        context = browser.new_context(
            viewport=PHONE if phone else DESKTOP, locale="zh-CN", accept_downloads=True, device_scale_factor=1
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        visitor = Visitor(page, live_server.url, folder, (username or "anon") + ("-phone" if phone else ""))
        visitor.page_errors = errors  # type: ignore[attr-defined]
        if username:
            visitor.login(username)
        opened.append(visitor)
        return visitor

    yield open_tab
    for visitor in opened:
        assert not visitor.page_errors, f"JavaScript errors on {visitor.name}'s pages: {visitor.page_errors}"
        visitor.close()
