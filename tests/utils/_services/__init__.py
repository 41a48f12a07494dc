"""Private implementation of the real-service test stack (facade: tests.utils.docker_config).

One module per concern: settings, health, ports, registry (state file, PIDs, reaping),
local (child-process backends), docker, ladder, isolation, cli.
"""
