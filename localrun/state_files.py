"""Files the local stack keeps in its state folder (the issuer's key, the shared secret): made once.

Apart from the issuer so that reading the shared secret (`make invoke`, `make sync-now`) loads no JWT code.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_once(path: Path, content: bytes) -> None:
    """Create `path` readable only by its owner, holding `content`, unless it exists already.

    Written aside, then linked into place: two commands starting at once (`make run` and
    `make token`) end up sharing one file, and never read a half-written one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(content)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
