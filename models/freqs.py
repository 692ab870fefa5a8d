"""Series frequencies, defined once and light to import (the CLI validates ``--freq`` with them
before anything heavy loads)."""

from typing import Literal

Freq = Literal["D", "h", "15min"]
FREQS: tuple[Freq, ...] = ("D", "h", "15min")
