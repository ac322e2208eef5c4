#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for the tests and the benchmarks.
#
#   pg_env=$(bash .ci/postgres.sh start [--fast]) && eval "$pg_env"
#       → exports KIOSK_TEST_POSTGRES_URL and KIOSK_POSTGRES_DIR
#   bash .ci/postgres.sh stop "$KIOSK_POSTGRES_DIR"
#
# `start` installs the server with apt when no PostgreSQL server binaries are on the machine, creates a
# cluster in a new temporary folder, starts it on a free loopback port and creates the database `kiosk`;
# it prints the two `export` lines on stdout (everything else goes to stderr). The URL is the superuser's
# (trust authentication, loopback only), so tests can create a database per test.
# `--fast` turns off fsync and synchronous commit: for tests, whose data need not survive a power cut.
# Benchmarks start it without, so that their figures are those of a durable server.
# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` system user.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

bin_dir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
        echo "$dir"
    elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
    fi
}

install_server() {
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
    log "no PostgreSQL server found; installing it with apt"
    "${sudo[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq postgresql >&2
}

# Runs a command as the cluster's owner.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local fast=0
    [[ "${1:-}" == "--fast" ]] && fast=1
    local bin
    bin=$(bin_dir)
    if [[ -z "$bin" ]]; then
        install_server
        bin=$(bin_dir)
        [[ -n "$bin" ]] || { log "PostgreSQL installed but initdb/pg_ctl not found"; exit 1; }
    fi
    local dir port user
    dir=$(mktemp -d "${TMPDIR:-/tmp}/kiosk-pg.XXXXXX")
    port=$(free_port)
    user=$(id -un)
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || { log "no postgres system user to run the server as"; exit 1; }
        chown postgres: "$dir"
        user=postgres
    fi
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null \
        || as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
    local options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir"
    options+=" -c max_connections=300 -c shared_buffers=128MB"
    if [[ $fast -eq 1 ]]; then
        options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$options" -w -t 60 start >/dev/null
    as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt \
        -c "CREATE DATABASE kiosk" >/dev/null
    log "PostgreSQL ($(basename "$(dirname "$bin")")) running as $user on 127.0.0.1:$port, data in $dir"
    echo "export KIOSK_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$port/kiosk"
    echo "export KIOSK_POSTGRES_DIR=$dir"
}

stop() {
    local dir="${1:?usage: postgres.sh stop DIR}"
    [[ -f "$dir/data/PG_VERSION" ]] || { log "$dir is not a cluster started by this script"; exit 1; }
    local bin
    bin=$(bin_dir)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: $0 start [--fast] | stop DIR" >&2; exit 2 ;;
esac
