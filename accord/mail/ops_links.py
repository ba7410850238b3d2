"""The link in a notice that asks ops to act: the signed-in page of the web app where they do it.

Ops sign in to the web app (their role is their credential), so these links carry no token:
an absolute URL built from ``web_base_url``, never from a request. Following one unsigned
lands on the sign-in page, which returns to it afterwards.

The workflow composes the notice without knowing the web app; the email activity adds the
link when it renders, by the notice's purpose (the send key's purpose segment). So a running
partnership's next notice carries it too, with no change to what the workflow does.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class OpsPage:
    path: str  # under the base URL; {workflow_id} is filled in
    label: str  # the email's button


# A notice's purpose (its first segment) -> the page where ops do what it asks.
PAGES = {
    # "Changes requested on the MOU" (workflows/partnership/mou.py): upload or regenerate a revision.
    "mou-changes": OpsPage("/p/{workflow_id}/mou/revise", "Revise the MOU"),
}


def purpose_of(send_key: str, workflow_id: str) -> str | None:
    """The purpose of ``<workflow id>/<chain id>/<purpose>/<recipient>`` (workflows/toolkit/mailing.py)."""
    rest = send_key.removeprefix(f"{workflow_id}/")
    if rest == send_key or rest.count("/") < 2:
        return None
    return rest.split("/", 1)[1].rsplit("/", 1)[0]


def ops_link(base_url: str, workflow_id: str, send_key: str, recipient: str) -> tuple[str, str] | None:
    """(the absolute link, its button's label) if this email asks ops (``ops-<n>``) to act on a page."""
    if not recipient.startswith("ops-"):
        return None
    purpose = purpose_of(send_key, workflow_id)
    page = PAGES.get(purpose.split("/", 1)[0]) if purpose else None
    if page is None:
        return None
    return base_url.rstrip("/") + page.path.format(workflow_id=quote(workflow_id, safe="")), page.label
