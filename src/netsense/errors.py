"""Every error netsense raises on purpose, in one place.

Each message is one line that a user can act on: :class:`InputError` names the field, the
value and the rule; the others name the file, the cell or the block concerned. The command
line turns them into ``netsense: error: <message>`` and a non-zero exit, without a traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input. The message is one line naming the field, the value and the rule."""

    def __init__(self, field_name: str, value, rule: str):
        self.field = field_name
        self.value = value
        self.rule = rule
        super().__init__(f"{field_name}: got {value!r}; {rule}")


class CubeError(RuntimeError):
    """A stored cube cannot be used as asked (not a cube, incomplete, shards missing)."""


class CorruptFileError(RuntimeError):
    """A checksummed file (shard, cached block) failed its check; it is never read as data."""

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: corrupt or incomplete file ({reason})")


class BlockError(RuntimeError):
    """A Monte Carlo block failed; the message names its parameters and stream key."""
