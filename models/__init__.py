"""Flux models: pure forecasting code (frames in, frames and files out).

This package never imports database, cloud or terminal libraries; import-linter checks it.
"""

PACKAGE_ID = "flux-forecast.models"
