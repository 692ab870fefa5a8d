"""All of Flux's I/O: database, files, artefact store and cloud services."""
