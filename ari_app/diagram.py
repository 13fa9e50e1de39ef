"""Draw the engine's wiring from the code's own tables: ``python -m ari_app.diagram``.

The flowchart lists what the ARI router takes in (``AriRouter.input_types``), the machines
the engine drives, and the effects the ARI effector carries out (``session.commands``), so
the README's architecture picture cannot drift from the code.
"""

from __future__ import annotations

from ari_app.router import AriRouter
from session.commands import EFFECT_TYPES


def flowchart() -> str:
    inputs = "<br/>".join(kind.__name__ for kind in AriRouter.input_types)
    effects = "<br/>".join(kind.__name__ for kind in EFFECT_TYPES)
    return "\n".join(
        [
            "flowchart LR",
            '    ast(["Asterisk 22"]) -- "ARI events (websocket)" --> queue',
            '    api(["HTTP API"]) -- "requests" --> queue',
            '    timer(["deadlines"]) -- "Tick" --> queue',
            '    queue[["one input queue"]] --> engine',
            '    engine["engine.writer<br/>(the one writer)"] -- "ARI items" --> router',
            f'    router["ari_app.router<br/><small>{inputs}</small>"]',
            '    router -- "session and ACD events" --> engine',
            '    engine <--> acd["acd core<br/>(routing)"]',
            '    engine <--> sessions["session.machine<br/>(one per contact: legs, bridges, IVR)"]',
            '    engine -- "ACD events, before their commands" --> journal[("Redis journal")]',
            '    engine -- "effects" --> effector',
            f'    effector["ari_app.effector<br/><small>{effects}</small>"]',
            '    effector -- "ARI requests, in lanes" --> ast',
            '    effector -- "EffectOutcome" --> queue',
            '    engine -- "records" --> spool[("record spool → SQL")]',
            '    engine -- "each step" --> view["live.view<br/>(projection: numbered deltas)"]',
            '    view -- "deltas, by scope" --> hub(["/api/v1/live<br/>(WebSocket clients)"])',
            '    view -- "deltas" --> stream[("Redis Stream {prefix}:live")]',
        ]
    )


def main() -> None:
    print("```mermaid")
    print(flowchart())
    print("```")


if __name__ == "__main__":
    main()
