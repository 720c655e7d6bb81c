#!/bin/sh
# Redis for compose.local-base.yaml. Debian's redis-server starts in protected
# mode (it refuses other hosts when no password is set); the official image
# turns that off because only the compose network can reach it. compose.yaml's
# `command:` (AOF, noeviction) is passed through unchanged.
set -eu
[ "${1:-}" = "redis-server" ] && shift
chown redis:redis /data
exec setpriv --reuid=redis --regid=redis --init-groups \
    redis-server --protected-mode no --bind 0.0.0.0 --dir /data "$@"
