"""The children's web chat between the engine and the browsers (issue 12).

The engine owns each chat's lifecycle (``session.chat``); this package is its adapter on the
data plane: ``store`` keeps the transcript in Redis under a TTL, ``hub`` holds the sockets and
relays messages (they never pass through the engine's writer), ``effector`` carries out the
engine's chat commands. ``ports`` is what the web layer and the hub need of the engine.
"""
