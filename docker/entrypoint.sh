#!/bin/sh
# Bring the schema and the shipped diagrams up to date, then run the container's command.
# The web container does this (RUN_MIGRATIONS=1, the default); the worker sets RUN_MIGRATIONS=0
# and starts after web is healthy, so two containers never migrate at once.
# SEED_DEMO_DATA=1 also runs `egovflow seed` (roles, lane mapping, demo organisations and accounts)
# before the deploy; deploying needs the lane-to-role mapping, which only the seed creates today.
set -eu

if [ "${RUN_MIGRATIONS:-1}" = "1" ]; then
  egovflow db upgrade
  if [ "${SEED_DEMO_DATA:-0}" = "1" ]; then
    egovflow seed
  fi
  egovflow deploy bpmn/
fi

exec "$@"
