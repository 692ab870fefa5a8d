"""Flux pipelines: one ``run()`` per command, orchestrating I/O (``pipelines.io``) and models."""

PACKAGE_ID = "flux-forecast.pipelines"
