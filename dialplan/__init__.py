"""Asterisk's configuration, rendered from our TOML config (never hand-edited).

Public API: ``render_asterisk_config(cfg, volunteers)``, ``VolunteerSip``, ``sip_ha1`` and the
``Stasis()`` argument contract in ``dialplan.stasis_args``.
"""

from dialplan.errors import DialplanError, RenderError
from dialplan.render import render_asterisk_config
from dialplan.sip import VolunteerSip, sip_ha1

__all__ = ["DialplanError", "RenderError", "VolunteerSip", "render_asterisk_config", "sip_ha1"]
