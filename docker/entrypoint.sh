#!/bin/sh
# Bring the schema and the shipped diagrams up to date, then run the container's command.
# The web container does this (RUN_MIGRATIONS=1, the default); the worker sets RUN_MIGRATIONS=0
# and starts after web is healthy, so two containers never migrate at once.
# `egovflow db upgrade` also creates the roles and the default lane-to-role mapping that deploy checks.
# SEED_DEMO_DATA=1 then runs `egovflow seed`: demo organisations, accounts with a known password and demo
# projects — for demonstrations only.
set -eu

if [ "${RUN_MIGRATIONS:-1}" = "1" ]; then
  egovflow db upgrade
  egovflow deploy bpmn/
  if [ "${SEED_DEMO_DATA:-0}" = "1" ]; then
    egovflow seed
  fi
fi

exec "$@"
