#!/bin/sh
# MongoDB for one environment (UNTESTED template: see README.md).
# First start: run mongod without auth on the unix socket only, create the application
# user from the generated password (read from /run/secrets/mongo_password, passed to
# mongosh on stdin, never on a command line), shut down; then exec mongod with --auth.
set -eu
DATA=/data/db
mkdir -p "$DATA"
if [ ! -e "$DATA/.berth-initialized" ]; then
  mongod --dbpath "$DATA" --bind_ip 127.0.0.1 --port 27017 --unixSocketPrefix /tmp --fork \
         --logpath /tmp/mongod-init.log
  pw=$(cat /run/secrets/mongo_password)
  printf 'db.getSiblingDB("%s").createUser({user: "%s", pwd: "%s", roles: [{role: "readWrite", db: "%s"}]})\n' \
      "$MONGO_DB" "$MONGO_USER" "$pw" "$MONGO_DB" | mongosh --quiet mongodb://127.0.0.1:27017/admin >/dev/null
  unset pw
  mongod --dbpath "$DATA" --shutdown
  touch "$DATA/.berth-initialized"
fi
exec mongod --dbpath "$DATA" --auth --bind_ip_all --port 27017 --unixSocketPrefix /tmp
