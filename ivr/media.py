"""Where the IVR's prompts live for Asterisk: the sound path's subdirectory and media URIs.

Pure names, shared by the session machine (what to play), the dialplan (what the fallback
plays) and ``runtime.prompts`` (which writes the files).
"""

SUBDIR = "helpline"
"""Our directory inside each language's sound directory."""


def media_uri(prompt_id: str) -> str:
    """The ARI media URI of a prompt: ``sound:helpline/<id>`` (language from the channel)."""
    return f"sound:{SUBDIR}/{prompt_id}"
