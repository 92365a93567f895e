#!/usr/bin/env bash
# Entrypoint of app/postgres: the official `postgres` image's interface, for what this project
# uses of it.
#   POSTGRES_PASSWORD    the superuser's password; or POSTGRES_PASSWORD_FILE, a file holding it
#   POSTGRES_USER        the superuser                                  [postgres]
#   POSTGRES_DB          the database created with the cluster          [$POSTGRES_USER]
#   POSTGRES_INITDB_ARGS further initdb arguments (split on blanks)
#   PGDATA               the cluster                                    [/var/lib/postgresql/data]
#   /docker-entrypoint-initdb.d/*.sql, *.sh   run once, after the database is created
# An empty PGDATA is initialised once: TCP logins from any address need the password (SCRAM),
# the local socket trusts (only processes inside the container reach it). A PGDATA that holds a
# cluster is started as it is and the variables above are ignored, as upstream.
set -Eeuo pipefail

log() { printf 'postgres-entrypoint: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# `docker run IMAGE -c shared_buffers=256MB` passes server options, as upstream; any other
# command (bash, psql, ...) runs as given.
if [ "${1:0:1}" = - ]; then
  set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
  exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
  # A fresh named volume already belongs to postgres (Docker copies the image's folder); a bind
  # mount may not. The server itself never runs as root.
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres {} +
  exec setpriv --reuid=postgres --regid=postgres --init-groups bash "${BASH_SOURCE[0]}" "$@"
fi

initialise() {
  local password user db socket_dir
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    [ -z "${POSTGRES_PASSWORD:-}" ] || die "set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE, not both"
    [ -r "$POSTGRES_PASSWORD_FILE" ] \
      || die "POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE is not readable by uid $(id -u)"
    password=$(<"$POSTGRES_PASSWORD_FILE")
  else
    password=${POSTGRES_PASSWORD:-}
  fi
  if [ -z "$password" ]; then
    die "$PGDATA holds no database and no superuser password is set, so it is not" \
      "initialised: set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE, a file holding it)." \
      "This image never creates a server that accepts logins without a password."
  fi
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  log "initialising $PGDATA: superuser $user, database $db"
  trap 'log "initialisation failed: empty $PGDATA before the next start"' ERR

  local -a extra_args
  read -r -a extra_args <<<"${POSTGRES_INITDB_ARGS:-}"
  # The password reaches initdb through a pipe: never an argument, never a file on disk.
  initdb --username="$user" --pwfile=<(printf '%s\n' "$password") \
    --auth-local=trust --auth-host=scram-sha-256 "${extra_args[@]}" >/dev/null
  printf '\n# Added by the image: any address, with the password (SCRAM).\nhost all all all scram-sha-256\n' \
    >>"$PGDATA/pg_hba.conf"

  # A temporary server on a private socket and no TCP port: pg_isready (the health check) does
  # not see it, so nobody connects before the set-up is complete.
  socket_dir=$(mktemp -d)
  pg_ctl --pgdata="$PGDATA" --wait --silent \
    --options="-c listen_addresses='' -c unix_socket_directories='$socket_dir'" start >/dev/null
  local -a psql=(psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --host="$socket_dir" --username="$user")
  if [ "$db" != postgres ]; then
    "${psql[@]}" --dbname=postgres --set=db="$db" <<<'CREATE DATABASE :"db";'
  fi
  local script
  for script in /docker-entrypoint-initdb.d/*; do
    case "$script" in
      *.sql) log "running $script"; "${psql[@]}" --dbname="$db" --file="$script" ;;
      *.sh) log "running $script"; PGHOST=$socket_dir PGUSER=$user PGDATABASE=$db bash "$script" ;;
      *) [ ! -e "$script" ] || log "ignoring $script (neither .sql nor .sh)" ;;
    esac
  done
  pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
  rmdir "$socket_dir"
  trap - ERR
  log "initialised $PGDATA"
}

if [ -s "$PGDATA/PG_VERSION" ]; then
  version=$(<"$PGDATA/PG_VERSION")
  [ "$version" = "$PG_MAJOR" ] \
    || die "$PGDATA holds a PostgreSQL $version cluster and this image runs PostgreSQL $PG_MAJOR:" \
      "move the data with pg_dump/pg_restore (or pg_upgrade), or use a PostgreSQL $version image"
  log "$PGDATA holds a PostgreSQL $version cluster: starting it, no initialisation"
else
  initialise
fi

# The server and its backends do not need the password in their environment.
unset POSTGRES_PASSWORD
exec "$@"
