# Helpers for docker/smoke.sh (sourced; uses its ENGINE, C, WORK, TIMEOUT, fail).

# Debian packages the Podman route runs, as binary=package. runc, not crun (see
# docs/deploy.md, "What Podman needs here"); debootstrap makes the local base image.
SMOKE_SYSTEM_DEPS="podman=podman runc=runc debootstrap=debootstrap"
# Outside the checkout, so a fresh clone (as CI runs in) finds the one an earlier run made.
SMOKE_VENV=${SMOKE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/summarizer/smoke-venv}

podman_tools_present() {
    local dep
    for dep in $SMOKE_SYSTEM_DEPS; do
        command -v "${dep%%=*}" >/dev/null 2>&1 || return 1
    done
    [ -e "$SMOKE_VENV/.installed-$(sha256sum docker/smoke-requirements.txt | cut -c1-16)" ]
}

image_cache_cold() {  # prints why building would be slow (nothing when the cache is warm)
    local image images=("$BASE_IMAGE" summarizer:latest)
    [ "$LOCAL_BASE" = 1 ] && images+=(localhost/summarizer-postgres:local localhost/summarizer-redis:local)
    for image in "${images[@]}"; do
        "$ENGINE" image inspect "$image" >/dev/null 2>&1 || { echo "no image $image"; return; }
    done
    # The dependency layer (pip, most of a cold build) is cached for this requirements.txt.
    "$ENGINE" run --rm --entrypoint cat summarizer:latest /app/requirements.txt 2>/dev/null \
        | cmp -s - requirements.txt || echo "summarizer:latest was built from another requirements.txt"
}

ensure_podman_tools() {
    # Quick when everything is there; otherwise apt-get (root only) and a pinned
    # podman-compose in its own venv, keyed on docker/smoke-requirements.txt's hash.
    local dep missing="" stamp
    for dep in $SMOKE_SYSTEM_DEPS; do
        command -v "${dep%%=*}" >/dev/null 2>&1 || missing="$missing ${dep#*=}"
    done
    if [ -n "$missing" ]; then
        [ "$(id -u)" = 0 ] || fail "needs the Debian package(s)$missing; run as root: apt-get install -y$missing"
        command -v apt-get >/dev/null || fail "needs$missing and there is no apt-get here; install them"
        echo "installing$missing (apt-get)"
        apt-get update -q >"$WORK/apt.log" 2>&1 \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >>"$WORK/apt.log" 2>&1 \
            || fail "apt-get install$missing failed, see $WORK/apt.log"
    fi
    stamp=$SMOKE_VENV/.installed-$(sha256sum docker/smoke-requirements.txt | cut -c1-16)
    if [ ! -e "$stamp" ]; then
        echo "installing podman-compose into $SMOKE_VENV (docker/smoke-requirements.txt)"
        rm -rf "$SMOKE_VENV"
        python3 -m venv "$SMOKE_VENV" \
            && "$SMOKE_VENV/bin/pip" install -q -r docker/smoke-requirements.txt >"$WORK/pip.log" 2>&1 \
            || fail "installing podman-compose failed, see $WORK/pip.log"
        touch "$stamp"
    fi
    echo "podman $(podman --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1{print $3}'), $("$SMOKE_VENV/bin/podman-compose" --version 2>/dev/null | grep -m1 podman-compose)"
}

ensure_local_base() {
    # A Debian bookworm root from the Debian mirror, imported as an image: no
    # registry image is needed. Python, PostgreSQL and Redis come from apt later.
    if "$ENGINE" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        echo "$BASE_IMAGE exists"
        return
    fi
    command -v debootstrap >/dev/null || fail "$BASE_IMAGE missing and no debootstrap (apt-get install debootstrap)"
    [ "$(id -u)" = 0 ] || fail "debootstrap needs root to make $BASE_IMAGE"
    local root=$WORK/rootfs
    rm -rf "$root"
    debootstrap --variant=minbase bookworm "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
        >"$WORK/debootstrap.log" 2>&1 || fail "debootstrap failed, see $WORK/debootstrap.log"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | "$ENGINE" import - "$BASE_IMAGE"
    rm -rf "$root"
}

stage_build_extra() {
    # Dockerfile binds docker/build-extra/ into its pip step (see its README.md).
    local extra=docker/build-extra pin wheel dir ca
    pin=$(sed -n 's/^torch==//p' requirements.txt)
    mkdir -p "$extra/wheels"
    rm -f "$extra"/wheels/*.whl "$extra/ca-certificates.crt"
    dir=${SMOKE_WHEELS:-${PIP_FIND_LINKS:-$(python3 -m pip config get global.find-links 2>/dev/null || true)}}
    wheel=$(ls "$dir"/torch-"$pin"+cpu-cp311-*.whl 2>/dev/null | head -n1 || true)
    if [ -n "$wheel" ]; then
        ln -f "$wheel" "$extra/wheels/" 2>/dev/null || cp "$wheel" "$extra/wheels/"
        echo "torch: $(basename "$wheel") (from $dir)"
    elif [ -z "${TORCH_INDEX_URL:-}" ]; then
        echo "torch: no CPU wheel in '${dir}' and no TORCH_INDEX_URL: PyPI's CUDA build (several GB)"
    fi
    ca=${SMOKE_CA_BUNDLE:-${PIP_CERT:-$(python3 -m pip config get global.cert 2>/dev/null || true)}}
    if [ -n "$ca" ] && [ -f "$ca" ]; then
        cp "$ca" "$extra/ca-certificates.crt"
        echo "pip trusts $ca while building"
    fi
}

has_healthcheck() {
    [ -n "$("$ENGINE" inspect -f '{{if .Config.Healthcheck}}{{.Config.Healthcheck.Test}}{{end}}' "$1" 2>/dev/null)" ]
}

healthy() {  # one check; Podman without systemd runs healthchecks only on demand
    if [ "$ENGINE" = podman ]; then
        "$ENGINE" healthcheck run "$1" >/dev/null 2>&1
    else
        [ "$("$ENGINE" inspect -f '{{.State.Health.Status}}' "$1")" = healthy ]
    fi
}

state() { "$ENGINE" inspect -f "{{$2}}" "$1"; }

wait_healthy() {  # service: healthy (healthcheck) or running without restarts (none)
    local svc=$1 id deadline=$(($(date +%s) + TIMEOUT))
    id=$(container "$svc")
    [ -n "$id" ] || fail "no container for $svc"
    if ! has_healthcheck "$id"; then
        local restarts; restarts=$(state "$id" .RestartCount)
        sleep 10
        [ "$(state "$id" .State.Status)" = running ] && [ "$(state "$id" .RestartCount)" = "$restarts" ] \
            || fail "$svc is not running steadily ($(state "$id" .State.Status), restarts $(state "$id" .RestartCount))"
        echo "$svc: running (no healthcheck)"
        return
    fi
    until healthy "$id"; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "$svc not healthy after ${TIMEOUT}s"
        sleep 3
    done
    echo "$svc: healthy"
}

kill_service() {  # SIGKILL the main process, as a crash would (not `kill`/`stop`)
    local id; id=$(container "$1")
    KILLED_RESTARTS=$(state "$id" .RestartCount)
    kill -KILL "$(state "$id" .State.Pid)"
    echo "$1: SIGKILLed pid $(state "$id" .State.Pid) at restart count $KILLED_RESTARTS"
}

wait_restarted() {  # the restart policy brings it back; else `up -d` it and say so
    local svc=$1 id deadline=$(($(date +%s) + 60))
    id=$(container "$svc")
    until [ "$(state "$id" .RestartCount)" -gt "$KILLED_RESTARTS" ] \
        && [ "$(state "$id" .State.Status)" = running ]; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "$svc: not restarted by its policy within 60 s; starting it with up -d"
            "${C[@]}" up -d "$svc"
            return
        fi
        sleep 1
    done
    echo "$svc: restarted by its restart policy (restart count $(state "$id" .RestartCount))"
}

psql_smoke() {  # one query against the stack's database, unaligned output
    "$ENGINE" exec "$(container postgres)" psql -U summarizer -d summarizer -tAc "$1"
}

restart_while_queued() {  # service: `restart` it while jobs are queued and a client keeps submitting
    local svc=$1 count=${SMOKE_QUEUED:-200} ids=$WORK/accepted-$1.ids client queued began
    : >"$ids"
    python3 docker/smoke_client.py submit "$count" >>"$ids" || fail "submit before restarting $svc"
    # The client keeps submitting through the restart; it records each id answered 201.
    python3 docker/smoke_client.py keep-submitting "${SMOKE_CLIENT_SECONDS:-45}" "$ids" \
        >"$WORK/client-$svc.log" 2>&1 &
    client=$!
    sleep 2  # the client has requests in flight when the service goes away
    queued=$(psql_smoke "SELECT count(*) FROM jobs_summary WHERE status = 'queued'")
    echo "$svc: restarting with $queued summaries queued ($("$ENGINE" exec "$(container redis)" \
        redis-cli llen inference | tail -n1) messages in the inference queue)"
    [ "$queued" -gt 0 ] || fail "nothing queued when $svc restarted: raise SMOKE_QUEUED ($count)"
    began=$(date +%s)
    "$ENGINE" restart "$(container "$svc")" >/dev/null || fail "$ENGINE restart $svc"
    wait_healthy "$svc"
    echo "$svc: back after $(($(date +%s) - began)) s"
    wait "$client" || fail "the submitting client failed (see $WORK/client-$svc.log)"
    cat "$WORK/client-$svc.log"
    wait_healthy web
    wait_healthy worker-inference
    # shellcheck disable=SC2046  # one id a line
    python3 docker/smoke_client.py wait "$TIMEOUT" $(cat "$ids") \
        || fail "summaries a client was answered 201 for around the $svc restart"
}
