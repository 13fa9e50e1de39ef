"""sipp message traces (``-trace_msg``): parsed messages with their times, and percentiles."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SipMessage:
    """One message of a sipp ``-trace_msg`` log."""

    ts: float
    sent: bool
    first_line: str
    call_id: str
    cseq_method: str


_SEPARATOR = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$")


def parse_trace(path: Path) -> list[SipMessage]:
    """Every message in a sipp message log, with its (local wall-clock) time as epoch seconds."""
    out: list[SipMessage] = []
    if not path.exists():
        return out
    block: list[str] = []
    stamp: str | None = None

    def flush() -> None:
        if stamp is None or len(block) < 2:
            return
        sent = "sent" in block[0]
        lines = [line for line in block[1:] if line.strip()]
        if not lines:
            return
        call_id = cseq = ""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name in ("call-id", "i"):
                call_id = value.strip()
            elif name == "cseq":
                cseq = value.split()[-1] if value.split() else ""
        ts = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        out.append(SipMessage(ts, sent, lines[0].strip(), call_id, cseq))

    with path.open(errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            match = _SEPARATOR.match(line)
            if match:
                flush()
                stamp, block = match.group(1), []
            elif stamp is not None:
                block.append(line)
    flush()
    return out


def first_by_call(
    messages: Sequence[SipMessage], want: Callable[[SipMessage], bool]
) -> dict[str, float]:
    """Call-ID -> time of the first message matching ``want`` (retransmissions ignored)."""
    found: dict[str, float] = {}
    for msg in messages:
        if want(msg) and msg.call_id not in found:
            found[msg.call_id] = msg.ts
    return found


def is_invite(msg: SipMessage) -> bool:
    return msg.first_line.startswith("INVITE ")


def is_invite_ok(msg: SipMessage) -> bool:
    return msg.first_line.startswith("SIP/2.0 200") and msg.cseq_method == "INVITE"


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
