"""The progress callback every long pipeline step accepts, for the pipelines and the edges that
render it (defined once, in :mod:`models.progress`, which the fits report through).

A step calls ``progress(label, done, total)`` as it goes: ``label`` says what it is doing in a few
words, ``done`` of ``total`` units are finished (``done == total`` at the end). The edge decides
how to show it (a progress bar on a terminal, log lines otherwise); ``None`` means nobody listens.
"""

from __future__ import annotations

from models.progress import Progress

__all__ = ["Progress"]
