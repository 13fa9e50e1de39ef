"""The runtime around the app: the chrooted Asterisk and the call simulator (sipp phones)."""
