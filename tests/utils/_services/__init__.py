"""Private implementation of the real-service test stack (facade: tests.utils.docker_config).

One module per service (catalog/: settings prefix, URL, usability check, container spec,
local starter, isolated databases) and one per concern: settings (services.env +
environment), health (the one deadline and report), ports (who holds a port), identity
(which process a PID is, immune to clock steps), registry (the state file: records, run
members, claims), polling (the one wait loop), rungs (running -> docker -> local, one
interface), local (child-process servers), docker_backend (labelled containers on the
docker SDK), stack (the ladder's lifecycle), errors, isolation (per-worker databases
behind the name guard), cli; engine and imagebuild (a Docker engine of the toolkit's own
and the services' local images, for machines without one).
"""
