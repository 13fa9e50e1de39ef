"""extensions.conf: every public number goes, anonymised, straight into our ARI application.

The caller's number and name are removed here, *before* ``Stasis()``, so the ARI app, its
events, our database and our logs never receive them. The carrier endpoint already replaces the
From identity (see pjsip.py); this is the second, independent layer.

When our app is not connected (Asterisk just restarted, the app is restarting or failing over),
``Stasis()`` returns at once with ``STASISSTATUS=FAILED``; left alone Asterisk would refuse the
call with a bare 603. Instead the child is answered and hears, in the line's language, that we
cannot take the call right now, to call again in a minute, and 112 in danger.
"""

from __future__ import annotations

from config.settings import HelplineConfig
from dialplan import stasis_args
from dialplan.pjsip import CARRIER, CARRIER_OUT, VOLUNTEER_CONTEXT
from dialplan.values import conf_value
from ivr.media import SUBDIR
from ivr.prompt_texts import UNAVAILABLE

ANONYMISE = "helpline-anonymise"
"""Subroutine context that wipes every caller-identifying party on the channel."""
UNAVAILABLE_CONTEXT = "helpline-unavailable"
"""Context a caller is sent to when ``Stasis()`` failed: our app is not connected."""

# Q.850 cause 1: unallocated number (SIP 404). A clean answer for a number we do not serve.
_UNALLOCATED = 1
# Q.850 cause 21: call rejected (SIP 403). Volunteer phones may not place calls.
_REJECTED = 21

_ANONYMISE_STEPS = (
    # Name and number, both presentation-restricted so nothing "helpfully" restores them.
    "Set(CALLERID(all)=)",
    "Set(CALLERID(num)=)",  # clear the number itself
    "Set(CALLERID(name)=)",
    "Set(CALLERID(pres)=prohib)",
    "Set(CALLERID(subaddr)=)",
    "Set(CALLERID(tag)=)",
    # ANI (billing number) is a separate party; also the redirecting number (RDNIS) and the
    # whole redirecting party (Diversion / History-Info).
    "Set(CALLERID(ani-all)=)",
    "Set(CALLERID(ani-num)=)",
    "Set(CALLERID(ani-name)=)",
    "Set(CALLERID(rdnis)=)",
    "Set(REDIRECTING(from-all,i)=)",
    "Set(REDIRECTING(orig-all,i)=)",
    "Set(REDIRECTING(count,i)=0)",
    # Connected line: on an inbound channel it is us, but clear it so it can only be set later
    # by the ARI app ('i' = do not send an update to the carrier).
    "Set(CONNECTEDLINE(all,i)=)",
    "Return()",
)

_UNAVAILABLE_STEPS = (
    "Answer()",
    # A moment for the caller's audio path to settle, so the first words are not clipped.
    "Wait(0.5)",
    # The channel's language (set before Stasis) picks sounds/<lang>/helpline/unavailable.
    f"Playback({SUBDIR}/{UNAVAILABLE})",
    "Wait(0.5)",
    "Hangup()",  # normal clearing: the call was answered and the message given
)


def render_extensions(cfg: HelplineConfig) -> str:
    """The whole extensions.conf."""
    app = conf_value(cfg.asterisk.app)
    out = [
        "; Rendered by helpline (dialplan.render); do not edit, re-render.",
        "[general]",
        "static=yes",
        "writeprotect=yes",
        "clearglobalvars=yes",
        "",
        "[globals]",
        "",
        f"[{ANONYMISE}]",
        f"exten => s,1,{_ANONYMISE_STEPS[0]}",
        *(f" same => n,{step}" for step in _ANONYMISE_STEPS[1:]),
        "",
        f"[{UNAVAILABLE_CONTEXT}]",
        f"exten => s,1,{_UNAVAILABLE_STEPS[0]}",
        *(f" same => n,{step}" for step in _UNAVAILABLE_STEPS[1:]),
        "",
        f"[{CARRIER}]",
    ]
    for line in cfg.lines:
        args = ",".join(stasis_args.encode(stasis_args.InboundCall(line_id=line.id)))
        for number in line.numbers:
            out += [
                f"exten => {conf_value(number)},1,Gosub({ANONYMISE},s,1)",
                f" same => n,Set(CHANNEL(language)={conf_value(line.language)})",
                f" same => n,Stasis({app},{args})",
                # FAILED: our app is not connected, so the call never reached it.
                f' same => n,GotoIf($["${{STASISSTATUS}}" = "FAILED"]?{UNAVAILABLE_CONTEXT},s,1)',
                # Otherwise Stasis returned because the ARI app let go: the call is over.
                " same => n,Hangup()",
            ]
    out += [
        # Anything else the carrier sends: wipe identity anyway, then refuse cleanly.
        f"exten => _X.,1,Gosub({ANONYMISE},s,1)",
        f" same => n,Hangup({_UNALLOCATED})",
        f"exten => _[+*#A-Za-z].,1,Gosub({ANONYMISE},s,1)",
        f" same => n,Hangup({_UNALLOCATED})",
        "",
        # A volunteer's phone dials nothing: not out, not 116111, not another phone. One or
        # more characters, so a single digit is refused the same way (403, no channel out).
        f"[{VOLUNTEER_CONTEXT}]",
        f"exten => _X,1,Hangup({_REJECTED})",
        f"exten => _X.,1,Hangup({_REJECTED})",
        f"exten => _[+*#A-Za-z],1,Hangup({_REJECTED})",
        f"exten => _[+*#A-Za-z].,1,Hangup({_REJECTED})",
        "",
        # The outbound carrier endpoint is only ever dialled by the ARI app; should anything
        # arrive on it anyway, it reaches nothing.
        f"[{CARRIER_OUT}]",
        f"exten => _X,1,Hangup({_REJECTED})",
        f"exten => _X.,1,Hangup({_REJECTED})",
        f"exten => _[+*#A-Za-z],1,Hangup({_REJECTED})",
        f"exten => _[+*#A-Za-z].,1,Hangup({_REJECTED})",
        "",
    ]
    return "\n".join(out) + "\n"
