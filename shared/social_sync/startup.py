"""What a function's app.py runs its imports and set-up under, once per container."""

from __future__ import annotations

import gc
import random
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
    tests, `make run`) would otherwise keep every earlier one's garbage too. That first init also
    registers what a SnapStart restore must redo (reseed_after_restore).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                reseed_after_restore()
            gc.enable()


def reseed_after_restore() -> bool:
    """Under Lambda SnapStart, give `random` a fresh seed in every environment restored from the snapshot.

    A snapshot holds the interpreter as init left it, `random`'s state included, so every restored
    environment would draw the same "random" retry jitter (ours, botocore's) and retry in step. The
    hook comes from the runtime's `snapshot_restore_py`, present in Lambda's Python runtimes; elsewhere
    there is no snapshot, and nothing to do. Nothing else init makes is unique or holds a connection:
    the clients connect, and read the key, on first use. Returns whether the hook was registered.
    """
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:
        return False
    register_after_restore(random.seed)
    return True
