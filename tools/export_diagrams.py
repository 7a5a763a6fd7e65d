"""Export every diagram in bpmn/ as SVG into docs/diagrams/ with the viewer island in headless Chromium.

Run after `make install`: `.venv/bin/python tools/export_diagrams.py`. The README's process chapter shows
these pictures; re-run it after changing a diagram.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "diagrams"
PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<link rel="stylesheet" href="/service/static/dist/viewer.css"></head>
<body style="margin:0">
<div id="d" data-bpmn-viewer data-xml-url="/bpmn/{name}" style="width:1800px;height:900px"></div>
<script src="/service/static/dist/viewer.js"></script></body></html>"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    """Serve the repository on loopback, render each diagram and save its SVG."""
    OUT.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_Quiet, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    pages = ROOT / "docs" / ".export"
    pages.mkdir(exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
            )
            page = browser.new_page()
            for bpmn in sorted((ROOT / "bpmn").glob("*.bpmn")):
                html = pages / f"{bpmn.stem}.html"
                html.write_text(PAGE.replace("{name}", bpmn.name), encoding="utf-8")
                page.goto(f"http://127.0.0.1:{port}/docs/.export/{html.name}")
                page.wait_for_selector("[data-island-state=ready]", timeout=15000)
                svg = page.evaluate(
                    "async () => (await document.getElementById('d').egovViewer.saveSVG()).svg"
                )
                (OUT / f"{bpmn.stem}.svg").write_text(svg, encoding="utf-8")
                print(f"{bpmn.name} -> docs/diagrams/{bpmn.stem}.svg")
            browser.close()
    finally:
        server.shutdown()
        for html in pages.glob("*.html"):
            html.unlink()
        pages.rmdir()


if __name__ == "__main__":
    main()
