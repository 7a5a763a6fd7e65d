"""Filling the JSON-Schema form island in a browser tab: find a field by its data path, type, pick."""

from __future__ import annotations

from tests.browser.conftest import Visitor


def field(tab: Visitor, path: str) -> object:
    """Return the form island's row of a field (by its data path)."""
    return tab.page.locator(f'[data-jsonschema-form] [data-path="{path}"]').first


def fill(tab: Visitor, path: str, value: str) -> None:
    """Type into a text, number or textarea field."""
    field(tab, path).locator("input, textarea").first.fill(value)


def choose(tab: Visitor, path: str, label: str) -> None:
    """Pick an option of a select, or a radio button, by its label."""
    row = field(tab, path)
    if row.locator("select").count():
        row.locator("select").first.select_option(label=label)
    else:
        row.get_by_text(label, exact=True).click()
