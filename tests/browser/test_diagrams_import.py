"""Every diagram in bpmn/ imports into bpmn-js (the viewer island in real Chromium) without a warning."""

from __future__ import annotations

import pytest

from tests.browser.conftest import LiveServer
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

DIAGRAMS = sorted((ROOT / "bpmn").glob("*.bpmn"))


def test_every_diagram_imports_without_warnings(live_server: LiveServer, visit) -> None:  # noqa: ANN001
    admin = visit("admin")
    admin.goto("/", shot=False)
    admin.page.evaluate(
        """xml => { const d = document.createElement('div'); d.id = 'probe'; d.style.height = '600px';
            d.setAttribute('data-bpmn-viewer', '');
            d.setAttribute('data-xml-url', 'data:text/xml;charset=utf-8,' + encodeURIComponent(xml));
            document.body.appendChild(d); }""",
        DIAGRAMS[0].read_text(encoding="utf-8"),
    )
    admin.page.add_script_tag(url="/static/dist/viewer.js")  # mounts on the probe right away
    admin.page.wait_for_selector("#probe[data-island-state=ready]", timeout=15_000)
    found = {}
    for path in DIAGRAMS:
        found[path.name] = admin.page.evaluate(
            """async xml => {
                const result = await document.getElementById('probe').egovViewer.importXML(xml);
                return result.warnings.map(w => w.message);
            }""",
            path.read_text(encoding="utf-8"),
        )
    assert found == {p.name: [] for p in DIAGRAMS}
    assert len(DIAGRAMS) >= 13
