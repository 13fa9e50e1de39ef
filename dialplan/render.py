"""``render_asterisk_config``: the whole Asterisk configuration from our TOML config.

Asterisk's files are always rendered, never hand-edited: what Asterisk loads is exactly this
dict (``runtime.asterisk.AsteriskRuntime.install_config`` moves Debian's samples away).
"""

from __future__ import annotations

from collections.abc import Sequence

from config.settings import HelplineConfig
from dialplan import base
from dialplan.extensions import render_extensions
from dialplan.pjsip import render_pjsip
from dialplan.sip import VolunteerSip


def render_asterisk_config(
    cfg: HelplineConfig, volunteers: Sequence[VolunteerSip]
) -> dict[str, str]:
    """File name (in /etc/asterisk) -> text, for ``cfg`` and these volunteer SIP accounts."""
    ast = cfg.asterisk
    files = {
        "asterisk.conf": base.render_asterisk_conf(),
        "modules.conf": base.render_modules(),
        "logger.conf": base.render_logger(),
        "http.conf": base.render_http(ast),
        "ari.conf": base.render_ari(ast),
        "manager.conf": base.render_manager(ast),
        "rtp.conf": base.render_rtp(ast),
        "musiconhold.conf": base.render_musiconhold(),
        "queues.conf": base.render_queues(),
        "indications.conf": base.render_indications(),
        "pjsip.conf": render_pjsip(ast, volunteers, cfg.dial_out_uri() if cfg.partners else None),
        "extensions.conf": render_extensions(cfg),
        "sorcery.conf": base.render_sorcery(),
    }
    files.update(base.render_disabled_records())
    files.update(base.render_empty_defaults())
    return files
