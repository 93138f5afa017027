# Shared by scripts/test and scripts/container-demo: make sure a container engine that
# serves the Docker Engine API answers, and export DOCKER_HOST naming it.
#
# An engine already reachable (DOCKER_HOST, or Docker's default socket) is used as it is.
# Otherwise Debian's podman is installed if missing (root only) and `podman system service`
# is started on a socket in .containers/, with the settings these machines need: runc and
# the cgroupfs manager (crun fails here: "cgroups in hybrid mode not supported"), no
# default ulimits (raising RLIMIT_NOFILE is not permitted here), and the k8s-file log
# driver (journald may not run). The service stops when the calling script exits.

_engine_answers() {  # $1: a unix socket path
    [ -S "$1" ] && curl -sf --max-time 5 --unix-socket "$1" http://engine/_ping >/dev/null 2>&1
}

ensure_container_engine() {
    local socket
    if [ -n "${DOCKER_HOST:-}" ]; then
        socket=${DOCKER_HOST#unix://}
        if [ "$socket" = "$DOCKER_HOST" ] || _engine_answers "$socket"; then
            say_step "container engine: $DOCKER_HOST (DOCKER_HOST)"
            return
        fi
    elif _engine_answers /var/run/docker.sock; then
        export DOCKER_HOST=unix:///var/run/docker.sock
        say_step "container engine: $DOCKER_HOST"
        return
    fi
    if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
        if [ "$(id -u)" != 0 ]; then
            echo "no container engine answers, and installing podman needs root:" \
                "start Docker or 'podman system service', or set DOCKER_HOST" >&2
            return 1
        fi
        say_step "installing podman and runc (Debian packages; once per machine)"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc >/dev/null; then
            apt-get update -q >/dev/null
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc >/dev/null
        fi
    fi
    local folder=$PWD/.containers
    mkdir -p "$folder"
    cat >"$folder/containers.conf" <<'CONF'
[containers]
default_ulimits = []
log_driver = "k8s-file"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    export CONTAINERS_CONF=$folder/containers.conf
    socket=$folder/podman.sock
    export DOCKER_HOST=unix://$socket
    if _engine_answers "$socket"; then
        say_step "container engine: podman at $DOCKER_HOST"
        return
    fi
    rm -f "$socket"
    say_step "container engine: starting podman's Docker-compatible service at $DOCKER_HOST"
    # In its own session: a Ctrl+C meant for flowctl must not stop the engine under it.
    setsid podman system service --time=0 "$DOCKER_HOST" >"$folder/service.log" 2>&1 &
    _podman_service=$!
    trap '_stop_podman_service' EXIT
    local waited=0
    until _engine_answers "$socket"; do
        if ! kill -0 "$_podman_service" 2>/dev/null || [ "$waited" -ge 300 ]; then
            echo "podman system service did not answer; its log:" >&2
            cat "$folder/service.log" >&2
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
}

_stop_podman_service() {
    if [ -n "${_podman_service:-}" ]; then
        kill "$_podman_service" 2>/dev/null || true
        wait "$_podman_service" 2>/dev/null || true
    fi
}
