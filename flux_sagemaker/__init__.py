"""Flux's SageMaker training entry point: a second edge, a peer of :mod:`flux_cli`.

The training image runs ``python -m flux_sagemaker train`` (:func:`flux_sagemaker.entry.main`),
which trains with the same :func:`pipelines.fitting.fit_files` as ``flux train --backend local``.
"""
