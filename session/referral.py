"""A referral: the child was put through to a partner (a warm transfer), noted on its record.

What the anonymous contact record keeps of a transfer, and nothing more: which partner, the
region if the child named one, that the child consented, and whether the volunteer stayed.
Never a number, a name or anything else the child said.
"""

from __future__ import annotations

from acd.record import record


@record
class Referral:
    """The child was put through to a partner of the directory during this contact."""

    partner_id: str
    """The partner's id in the configured directory (e.g. ``veilig-thuis``), never a number."""
    region: str | None
    """The region (werkgebied) id, when the child named one; ``None`` otherwise."""
    consent: bool
    """The child consented to the referral; a referral is only ever recorded with consent."""
    volunteer_stayed: bool
    """The volunteer stayed in the call until the end, rather than leaving child and partner."""
