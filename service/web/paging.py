"""Paged list pages: a page number past the last page goes to the last page.

The API answers such a request with an empty page and the total (clients page until it is empty); a person
who follows an old link or edits the address sees the last page instead, with a pager that agrees.
"""

from __future__ import annotations

from flask import redirect
from werkzeug.wrappers import Response

from processes.queries import Page
from service.web.formatting import with_args


def past_last(page: Page, param: str = "page") -> Response | None:
    """Return a redirect to the same list's last page when `page` lies past it, else None."""
    if page.page <= page.pages:
        return None
    return redirect(with_args(**{param: page.pages}))
