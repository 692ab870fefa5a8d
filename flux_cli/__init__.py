"""Flux's command-line interface (the edge: arguments, settings, rendering, exit codes)."""

PACKAGE_ID = "flux-forecast.flux_cli"
