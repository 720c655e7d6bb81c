#!/usr/bin/env bash
# End-to-end check of docker/compose.yaml, run from anywhere:
#
#   docker/smoke.sh
#
# Builds the images, brings the whole stack up, submits a document through the
# published web port and waits for its summary, SIGKILLs the inference worker's
# main process while a batch is queued, submits one more document, sees the
# container restarted by its restart policy and every summary finish; restarts the
# postgres and then the redis container while summaries are queued and a client
# keeps submitting, and sees every summary a client was answered 201 for finish,
# once (one summary per document; none changes after it finished); then tears
# everything down (containers, networks, volumes; images stay). Each step is
# printed; exit status 0 only if all passed. docs/deploy.md has a run's output.
#
# Engine: `docker compose` when it works, else Podman with podman-compose: Podman,
# runc and debootstrap are installed with apt-get when missing (root), podman-compose
# into ~/.cache/summarizer/smoke-venv (SMOKE_VENV; docker/smoke-requirements.txt); Podman settings in
# docker/podman/containers.conf. Knobs:
#   COMPOSE                 the compose command (with ENGINE=docker|podman)
#   SMOKE_LOCAL_BASE        1: local Debian base + compose.local-base.yaml (default
#                           with Podman, where registry images cannot be pulled)
#   BASE_IMAGE              base of every image (localhost/debian:bookworm or
#                           python:3.11-slim); a missing local one is made with
#                           debootstrap from DEBIAN_MIRROR (root needed)
#   WEB_PORT                published web port on 127.0.0.1 (8180)
#   SMOKE_WHEELS            directory holding torch's CPU wheel for the image (the
#                           host pip's find-links); SMOKE_CA_BUNDLE: CA file pip
#                           trusts while building (the host pip's `cert`)
#   SMOKE_TIMEOUT           seconds to wait for each summary or service (600)
#   SMOKE_QUEUED            documents submitted before each restart (200);
#                           SMOKE_CLIENT_SECONDS: how long the client keeps submitting (45)
#   SMOKE_KEEP=1            leave the stack up afterwards (tear down with `down -v`)
#
# docker/smoke.sh --if-cached (make smoke-if-cached, run by .ci/run): the same, but only
# when the engine is installed and every image is built for this requirements.txt;
# otherwise it says why and exits 0 without testing anything (docs/deploy.md).
set -euo pipefail
cd "$(dirname "$0")/.."
IF_CACHED=0
[ "${1:-}" = --if-cached ] && IF_CACHED=1

PROJECT=${SMOKE_PROJECT:-summarizer-smoke}
WEB_PORT=${WEB_PORT:-8180}
TIMEOUT=${SMOKE_TIMEOUT:-600}
WORK=var/smoke/$PROJECT
START=$(date +%s)

step() { printf '\n== [%4ss] %s\n' "$(($(date +%s) - START))" "$*"; }
fail() { printf '\nSMOKE FAILED: %s\n' "$*" >&2; exit 1; }
skip() {
    printf '\nSMOKE NOT RUN (--if-cached): %s.\n' "$*"
    printf 'Nothing was tested: run `make smoke` (about 25 min from nothing; docs/deploy.md).\n'
    exit 0
}

mkdir -p "$WORK"
# shellcheck source=docker/smoke_lib.sh
. docker/smoke_lib.sh

if [ -n "${COMPOSE:-}" ]; then
    ENGINE=${ENGINE:-docker}
elif docker compose version >/dev/null 2>&1; then
    ENGINE=docker COMPOSE="docker compose"
else
    # Podman, runc, debootstrap (apt-get, as root) and podman-compose (its own venv)
    # are installed when missing.
    step "Podman and podman-compose"
    [ "$IF_CACHED" = 0 ] || podman_tools_present || skip "Podman or podman-compose is not installed"
    ensure_podman_tools
    ENGINE=podman COMPOSE=$SMOKE_VENV/bin/podman-compose
fi
if [ "$ENGINE" = podman ]; then
    export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/docker/podman/containers.conf}
fi
LOCAL_BASE=${SMOKE_LOCAL_BASE:-$([ "$ENGINE" = podman ] && echo 1 || echo 0)}
if [ "$LOCAL_BASE" = 1 ]; then
    export BASE_IMAGE=${BASE_IMAGE:-localhost/debian:bookworm}
else
    export BASE_IMAGE=${BASE_IMAGE:-python:3.11-slim}
fi

ENV_FILE=$WORK/smoke.env
# Fresh secrets per run; letters and digits only (they are pasted into URLs).
secret() { python3 -c "import secrets; print(secrets.token_hex($1))"; }
cat > "$ENV_FILE" <<EOF
SECRET_KEY=$(secret 32)
POSTGRES_PASSWORD=$(secret 16)
ALLOWED_HOSTS=localhost
WEB_PORT=$WEB_PORT
BASE_IMAGE=$BASE_IMAGE
TORCH_INDEX_URL=${TORCH_INDEX_URL:-}
EOF
FILES=(-f docker/compose.yaml)
[ "$LOCAL_BASE" = 1 ] && FILES+=(-f docker/compose.local-base.yaml)
read -r -a COMPOSE_CMD <<< "$COMPOSE"
C=("${COMPOSE_CMD[@]}" -p "$PROJECT" "${FILES[@]}" --env-file "$ENV_FILE")
echo "engine: $ENGINE ($COMPOSE), base image: $BASE_IMAGE, web: 127.0.0.1:$WEB_PORT"
if [ "$IF_CACHED" = 1 ]; then
    COLD=$(image_cache_cold)
    [ -z "$COLD" ] || skip "image cache cold: $COLD"
    echo "image cache warm: every image is built, for this requirements.txt"
fi

container() {  # the container id of service $1 (empty if none)
    "$ENGINE" ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
        --filter "label=com.docker.compose.service=$1" | head -n1
}

teardown() {
    local rc=$? svc id
    set +e  # tear down whatever happens
    if [ "$rc" != 0 ]; then
        for svc in $("${C[@]}" config --services); do
            id=$(container "$svc")
            if [ -n "$id" ]; then
                echo "--- last log lines of $svc"
                "$ENGINE" logs --tail 25 "$id" 2>&1
            fi
        done
    fi
    if [ "${SMOKE_KEEP:-0}" = 1 ]; then
        echo "SMOKE_KEEP=1: stack left up; tear down: ${C[*]} down -v"
    else
        step "tear down (containers, networks, volumes)"
        "${C[@]}" down -v >"$WORK/down.log" 2>&1 || echo "down failed, see $WORK/down.log"
        local kind left
        for kind in "container ls -a" "volume ls" "network ls"; do
            # shellcheck disable=SC2086  # kind is a subcommand and its options
            left=$("$ENGINE" $kind -q --filter "label=com.docker.compose.project=$PROJECT")
            [ -z "$left" ] || { echo "left after down (${kind%% *}s): $left"; rc=1; }
        done
    fi
    [ "$rc" = 0 ] && step "SMOKE PASSED" || echo "SMOKE FAILED (exit $rc)"
    exit "$rc"
}

step "base image $BASE_IMAGE"
[ "$LOCAL_BASE" = 1 ] && ensure_local_base
stage_build_extra

step "build the app image (web, workers, beat, tensorboard share it)"
trap teardown EXIT
"${C[@]}" build web
if [ "$LOCAL_BASE" = 1 ]; then
    step "build PostgreSQL and Redis from the local base"
    "${C[@]}" build postgres
    "${C[@]}" build redis
fi

# Started in dependency order and waited on here: podman-compose before Podman
# 4.6 ignores `condition: service_healthy`, and Podman without systemd never
# runs healthchecks by itself (wait_healthy runs them).
step "start PostgreSQL and Redis"
"${C[@]}" up -d postgres redis
wait_healthy postgres
wait_healthy redis
[ "$("$ENGINE" exec "$(container redis)" redis-cli config get appendonly | tail -n1)" = yes ] \
    || fail "redis runs without AOF"
echo "redis: appendonly yes"

step "start web (migrate, collectstatic, gunicorn)"
"${C[@]}" up -d web
wait_healthy web

step "start everything else"
"${C[@]}" up -d
"$ENGINE" ps -a --filter "label=com.docker.compose.project=$PROJECT" \
    --format '{{.Names}}  {{.Status}}'
for svc in $("${C[@]}" config --services); do
    wait_healthy "$svc"
done

step "create the API user (docs/deploy.md)"
PASSWORD=$(secret 16)
"${C[@]}" run --rm -T -e DJANGO_SUPERUSER_PASSWORD="$PASSWORD" web \
    python manage.py createsuperuser --noinput --username smoke --email smoke@example.invalid
export SMOKE_URL=http://127.0.0.1:$WEB_PORT
export SMOKE_RECORD=$WORK/finished.jsonl  # every finished summary, for the recheck at the end
rm -f "$SMOKE_RECORD"
SMOKE_TOKEN=$(python3 docker/smoke_client.py token smoke "$PASSWORD") || fail "no API token"
export SMOKE_TOKEN

step "submit a document through 127.0.0.1:$WEB_PORT and wait for its summary"
FIRST=$(python3 docker/smoke_client.py submit 1)
python3 docker/smoke_client.py wait "$TIMEOUT" "$FIRST" || fail "first summary"

step "submit 20 documents, SIGKILL the inference worker, submit one more"
BATCH=$(python3 docker/smoke_client.py submit 20 | tr '\n' ' ')
kill_service worker-inference
AFTER=$(python3 docker/smoke_client.py submit 1)
wait_restarted worker-inference
wait_healthy worker-inference

step "every summary submitted around the kill finishes"
# shellcheck disable=SC2086  # BATCH is a list of ids
python3 docker/smoke_client.py wait "$TIMEOUT" $BATCH "$AFTER" \
    || fail "summaries after the worker kill"

step "restart PostgreSQL while summaries are queued and a client keeps submitting"
restart_while_queued postgres

step "restart Redis (the broker, AOF on) while summaries are queued and a client keeps submitting"
restart_while_queued redis

step "beat scheduled without errors"
BEAT_LOG=$("$ENGINE" logs "$(container beat)" 2>&1)
echo "beat sent $(grep -c 'Sending due task' <<< "$BEAT_LOG" || true) scheduled tasks"
! grep -m3 SchedulingError <<< "$BEAT_LOG" || fail "beat's log has SchedulingError"

step "nothing lost, nothing run twice"
# One summary per document (the client submits each document once); what the clients
# were answered 201 for all succeeded above. A second run would come from a redelivered
# message or the reaper (a lease is stale after SUMMARY_STALE_AFTER, 30 s): wait past
# that, then every summary must read as it did when it finished.
psql_smoke "SELECT status, count(*) FROM jobs_summary GROUP BY status ORDER BY status" \
    | sed 's/^/  database: /'
DUPLICATES=$(psql_smoke "SELECT count(*) FROM (SELECT document_id FROM jobs_summary
    GROUP BY document_id HAVING count(*) > 1) AS twice")
[ "$DUPLICATES" = 0 ] || fail "$DUPLICATES documents have more than one summary"
sleep 40
python3 docker/smoke_client.py recheck "$SMOKE_RECORD" || fail "a finished summary changed"
for svc in $("${C[@]}" config --services); do  # restarts: the worker kill's one only
    id=$(container "$svc")
    echo "  $svc: $(state "$id" .State.Status), restarted $(state "$id" .RestartCount) times by policy"
done
