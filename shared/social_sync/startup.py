"""What a function's app.py runs its imports and set-up under, once per container."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def container_init() -> Iterator[None]:
    """Pause the cyclic garbage collector while the container initialises, then freeze what init made.

    Init builds ≈100,000 objects (modules, classes, the service models botocore parses) that live as
    long as the container. Collecting while they pile up (one full collection over all of them, many
    smaller ones) costs ≈30 ms of every cold start (`make bench`); frozen, later collections skip them.
    The price: the few cycles init leaves as garbage (under a thousand objects) are kept, not
    collected. So only the first init of a process freezes: one that loads many functions (the
    tests, `make run`) would otherwise keep every earlier one's garbage too.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
            gc.enable()
