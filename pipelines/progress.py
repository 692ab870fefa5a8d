"""The progress callback every long pipeline step accepts (one definition, for the pipelines
and the edges that render it).

A step calls ``progress(label, done, total)`` as it goes: ``label`` says what it is doing in a few
words, ``done`` of ``total`` units are finished (``done == total`` at the end). The edge decides
how to show it (a progress bar on a terminal, log lines otherwise); ``None`` means nobody listens.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress"]

type Progress = Callable[[str, int, int], None]
"""Called as ``progress(label, done, total)``."""
