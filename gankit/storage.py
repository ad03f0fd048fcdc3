"""The files of a model directory: written so that an interruption never leaves half of one,
read so that a damaged one is named, with what to do, instead of failing deep in a parser.

Everything here raises :class:`CheckpointError` (also reachable as
``gankit.checkpoints.CheckpointError``) for a file that is missing, truncated or corrupt.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


class CheckpointError(RuntimeError):
    """A model directory is missing, incomplete, damaged, or holds another architecture."""


def write_text_atomically(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it and a rename, so that a
    reader (or a run killed half-way) sees the old file or the new one, never a part of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())  # the bytes reach the disk before the name points at them
    os.replace(temporary, path)


def write_json(path, payload, indent: int | None = None) -> None:
    """``payload`` as JSON in ``path``, atomically (see :func:`write_text_atomically`)."""
    write_text_atomically(path, json.dumps(payload, indent=indent) + "\n")


def read_json(path, what: str, remedy: str):
    """The JSON object in ``path``.

    Args:
        path: the file.
        what: what the file is, for the message ("the training history").
        remedy: what the user can do when it is damaged.

    Raises:
        CheckpointError: the file is missing, unreadable, not JSON, or not a JSON object.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path} ({what}) does not exist; {remedy}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} ({what}) is damaged ({error}); {remedy}") from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path} ({what}) holds {type(payload).__name__}, not a JSON object; {remedy}")
    return payload
