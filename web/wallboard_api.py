"""The wallboard's figures over HTTP: ``GET /api/v1/wallboard`` (JSON) and the metrics.

``/api/v1/wallboard`` is on the public listener, for a signed-in supervisor (or admin)
session: a volunteer gets 403, as the figures show colleagues' states and locations. The page
itself (``/wallboard``) takes the same figures from the live bus.

``GET /api/v1/admin/metrics`` (Prometheus text, ``prometheus-client``; set it as the scrape
job's ``metrics_path``) is on the admin listener only, behind the admin token (Prometheus
sends it as ``authorization: {credentials: ...}``): the public listener
is reachable from every location's network, the admin one is loopback by default and meant for
the operators' monitoring. The metrics are the same figures as numbers with labels drawn from
fixed vocabularies (kind, state, outcome, configured location/line/partner/pause-reason ids):
never a contact id, never a volunteer id, nothing about a child. They are read from memory at
each scrape (no SQL, nothing waits for the engine's writer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from web.auth import require_admin
from web.context import ctx
from web.errors import AcdUnavailable, Forbidden
from web.gateway import AcdGateway
from web.volunteer_api import authenticate

routes = web.RouteTableDef()

BOARD_ROLES = frozenset({"supervisor", "admin"})
"""Accounts that may see the wallboard."""

METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"

METRICS_PATH = "/api/v1/admin/metrics"
"""Prometheus's ``metrics_path``: under the admin prefix like every admin route."""


@routes.get("/api/v1/wallboard")
async def get_wallboard(request: web.Request) -> web.Response:
    """The wallboard's figures now (see ``live.wallboard`` for each definition)."""
    caller = await authenticate(request)
    if caller.volunteer.role not in BOARD_ROLES:
        raise Forbidden("the wallboard is for supervisors", code="supervisors_only")
    data = caller.ctx.gateway.wallboard()  # 503 while this process stands by
    return web.json_response({"at": time.time(), **data})


class WallboardCollector(Collector):
    """Turns the gateway's wallboard into Prometheus gauges at every scrape."""

    def __init__(self, gateway: AcdGateway, clock: Callable[[], float] = time.time) -> None:
        self._gateway = gateway
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        serving = GaugeMetricFamily(
            "helpline_serving_queue", "1 while this process serves the queue (holds the lease)"
        )
        try:
            board = self._gateway.wallboard()
        except AcdUnavailable:
            serving.add_metric([], 0)
            yield serving
            return
        serving.add_metric([], 1)
        yield serving
        yield from board_metrics(board, self._clock())


def board_metrics(board: dict[str, Any], now: float) -> Iterator[Metric]:
    """The wallboard's figures as metric families."""

    def gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"helpline_{name}", doc, labels=labels)

    waiting = gauge("contacts_waiting", "Contacts not answered yet (queued or ringing)", ["kind"])
    ringing = gauge("contacts_ringing", "Contacts ringing for a volunteer", ["kind"])
    talking = gauge("contacts_in_contact", "Contacts connected with a volunteer now", ["kind"])
    longest = gauge("longest_wait_seconds", "Wait of the oldest unanswered contact", ["kind"])
    today = gauge(
        "contacts_today", "Contacts that ended today (local date), by outcome", ["kind", "outcome"]
    )
    level = gauge(
        "service_level_ratio",
        "Answered within the threshold / answered (answered_only) or / (answered + abandoned)"
        " (with_abandons), today",
        ["kind", "threshold_seconds", "definition"],
    )
    asa = gauge("asa_seconds", "Average speed of answer today", ["kind"])
    aht = gauge(
        "aht_seconds",
        "Average handling time today: (talk + wrap-up) / answered; after a restart, wrap-up only"
        " from the restart on (the records hold no wrap-up time)",
        ["kind"],
    )
    for kind, figures in board["kinds"].items():
        waiting.add_metric([kind], figures["waiting"])
        ringing.add_metric([kind], figures["ringing"])
        talking.add_metric([kind], figures["in_contact"])
        since = figures["longest_wait_since"]
        longest.add_metric([kind], 0.0 if since is None else max(0.0, now - since))
        for outcome in ("answered", "abandoned", "overflowed"):
            today.add_metric([kind, outcome], figures[outcome])
        for threshold, definitions in figures["service_level"].items():
            for definition, value in definitions.items():
                if value is not None:
                    level.add_metric([kind, threshold, definition], value)
        if figures["asa_s"] is not None:
            asa.add_metric([kind], figures["asa_s"])
        if figures["aht_s"] is not None:
            aht.add_metric([kind], figures["aht_s"])
    yield from (waiting, ringing, talking, longest, today, level, asa, aht)

    volunteers = gauge("volunteers", "Logged-in volunteers by state", ["state"])
    for state, count in board["agents"].items():
        volunteers.add_metric([state], count)
    paused = gauge("volunteers_paused", "Paused volunteers by reason", ["reason"])
    for reason, count in board["paused_by_reason"].items():
        paused.add_metric([reason or "none"], count)
    located = gauge(
        "volunteers_at_location", "Volunteers by location and state", ["location", "state"]
    )
    for location, states in board["locations"].items():
        for state, count in states.items():
            located.add_metric([location, state], count)
    transfers = gauge("transfers_in_progress", "Warm transfers to partners in progress", [])
    transfers.add_metric([], board["transfers"])
    coaching = gauge(
        "supervisors_coaching",
        "Logged-in supervisors coaching a call: offered no contact meanwhile, whatever their state",
        [],
    )
    coaching.add_metric([], board["coaching"])
    lines = gauge("line_open", "1 while the line is open on the channel", ["line", "channel"])
    for line in board["lines"]:
        lines.add_metric([line["line"], line["channel"]], 1 if line["open"] else 0)
    partners = gauge("partner_open", "1 while the partner is open", ["partner"])
    for partner in board["partners"]:
        partners.add_metric([partner["id"]], 1 if partner["open"] else 0)
    alerts = gauge("alerts", "Alerts on the wallboard by kind", ["kind"])
    counted: dict[str, int] = dict.fromkeys(("asterisk_down", "queue_over", "phone_replaced"), 0)
    for alert in board["alerts"]:
        counted[alert["kind"]] = counted.get(alert["kind"], 0) + 1
    for kind, count in counted.items():
        alerts.add_metric([kind], count)
    yield from (volunteers, paused, located, transfers, coaching, lines, partners, alerts)


METRICS_REGISTRY = web.AppKey("wallboard_metrics", CollectorRegistry)


def install_metrics(app: web.Application, gateway: AcdGateway) -> None:
    """``GET /api/v1/admin/metrics`` on the admin app, behind the admin token."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WallboardCollector(gateway))
    app[METRICS_REGISTRY] = registry
    app.router.add_get(METRICS_PATH, metrics)


async def metrics(request: web.Request) -> web.Response:
    token = ctx(request).cfg.http.admin_token
    if token is None:
        raise web.HTTPNotFound()
    require_admin(request, token)
    body = generate_latest(request.app[METRICS_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": METRICS_TYPE})
