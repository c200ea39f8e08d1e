"""Pausing Python's cyclic garbage collector while a bulk job holds many objects at once.

An import holds every row of the file, the database's rows and the plan at once: some
hundreds of thousands of container objects, all alive until it ends. The collector's
full passes walk all of them again and again while they pile up (a third of validating
a 100,000-row file, issue 17) and find nothing: the import makes next to no reference
cycles. A scan tick is the same on a smaller scale (10,000 facts, intents and messages:
0.08–0.13 s of collection per tick, issue 17). Reference counting still frees everything
as usual; only the cycle search waits.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cycle collector for the block; it is enabled again afterwards unless it
    was already disabled when the block began (a caller's own choice is kept)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
