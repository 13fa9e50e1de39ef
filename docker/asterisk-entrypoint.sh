#!/bin/sh
# Start Asterisk in the foreground as the asterisk user, once the rendered config is there.
set -eu
if [ ! -s /etc/asterisk/asterisk.conf ] || [ ! -s /etc/asterisk/modules.conf ]; then
    echo "no rendered config in /etc/asterisk: run the init service first" >&2
    exit 1
fi
# tmpfs mounts (compose) start empty and root-owned.
for dir in /run/asterisk /var/log/asterisk /var/spool/asterisk; do
    mkdir -p "$dir"
    chown asterisk:asterisk "$dir"
done
# -f foreground, -n no colours, -U/-G drop root; console verbosity stays 0 (nothing per call).
exec asterisk -f -n -U asterisk -G asterisk
