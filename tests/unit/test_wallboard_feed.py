"""What the wallboard learns outside the ACD's steps, through the app on the fake ARI: Asterisk
lost and back, a phone taken by a second registration, and the opening hours of the lines and
partners (``helpline.wallboard.WallboardFeed`` on a real live bus)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ari_app.ari_events import ContactStatusChange
from ari_app.models import Endpoint
from ari_app.websocket import Disconnected
from helpline.live_bus import start_live_bus
from helpline.wallboard import WallboardFeed
from ivr.hours import HoursStatus
from live import Delta
from tests.unit.ari_support import started_app

A = "sip:vol-1@192.0.2.7:5060"
B = "sip:vol-1@192.0.2.99:5060"


class Hours:
    def __init__(self) -> None:
        self.open = True

    def all_statuses(self, now: datetime) -> list[tuple[str, str, HoursStatus]]:
        return [("116111", "phone", HoursStatus(self.open, "schedule", None, None, "default"))]


class Partners:
    def list(self, now: datetime) -> list[dict[str, Any]]:
        return [{"id": "veilig-thuis", "name": "Veilig Thuis", "open_now": False}]


def contact(uri: str, status: str) -> ContactStatusChange:
    endpoint = Endpoint("PJSIP", "vol-1", "online", ())
    return ContactStatusChange("helpline", endpoint, "vol-1", uri, status)


async def test_the_router_and_the_hours_reach_the_board():
    async with started_app() as run:
        bus = start_live_bus(run.engine, ZoneInfo("Europe/Amsterdam"))
        published: list[Delta] = []
        broadcast = bus.hub.broadcast
        bus.hub.broadcast = lambda deltas: (published.extend(deltas), broadcast(deltas))[1]  # type: ignore[method-assign]
        hours = Hours()
        feed = WallboardFeed(bus, hours, Partners(), run.engine.clock)
        run.app.router.watchers.append(feed)
        feed.asterisk(run.app.router.connected)
        assert bus.view.wallboard()["alerts"] == []  # connected by started_app

        feed.check_hours()
        board = bus.view.wallboard()
        assert board["lines"] == [{"line": "116111", "channel": "phone", "open": True}]
        assert board["partners"] == [{"id": "veilig-thuis", "name": "Veilig Thuis", "open": False}]
        count = len(published)
        feed.check_hours()
        assert len(published) == count  # nothing changed: no delta
        hours.open = False
        feed.check_hours()
        assert len(published) == count + 1
        assert published[-1].kind == "queue"
        assert published[-1].data is not None
        assert published[-1].data["board"]["lines"][0]["open"] is False

        run.feed(contact(A, "Created"), contact(B, "NonQualified"))  # a second phone took it
        run.feed(Disconnected("closed by Asterisk"))
        await run.settle()
        kinds = [alert["kind"] for alert in bus.view.wallboard()["alerts"]]
        assert kinds == ["asterisk_down", "phone_replaced"]
        assert bus.view.wallboard()["alerts"][1]["agent_id"] == "vol-1"
        await run.reconnect()
        kinds = [alert["kind"] for alert in bus.view.wallboard()["alerts"]]
        assert kinds == ["phone_replaced"]
