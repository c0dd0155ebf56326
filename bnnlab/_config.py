"""Configuration dataclasses: help text per field, JSON round trip, and the fields a CLI sets.

Every configuration in bnnlab (learners, methods, devices, solvers) is a frozen dataclass whose
fields carry ``metadata["help"]`` (what the field means, one line) and ``metadata["cli"]`` (whether
a command-line option sets it) and ``metadata["choices"]`` (its valid values, if a closed set).
:class:`Config` gives them ``to_dict``/``from_dict`` (JSON-ready,
unknown keys refused by name) and :meth:`Config.cli_fields`; :func:`field` writes such a field.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["REQUIRED", "Config", "field"]

#: Marks a field without a default (``field(REQUIRED, "help")``).
REQUIRED: Any = object()


def field(default: Any, help: str, *, cli: bool = True, choices: Any = None) -> Any:
    """A dataclass field with its help text, whether a CLI option sets it, and its choices
    (a tuple, or a callable returning them from a registry when asked)."""
    meta = {"help": help, "cli": cli, "choices": choices}
    if default is REQUIRED:
        return dataclasses.field(metadata=meta)
    if isinstance(default, list | dict | set):
        raise TypeError("default: use a tuple (dataclass defaults must be immutable)")
    return dataclasses.field(default=default, metadata=meta)


class Config:
    """Mixin for configuration dataclasses (see the module docstring)."""

    @staticmethod
    def choices(f: dataclasses.Field) -> tuple[Any, ...] | None:
        """The valid values of field ``f`` (``None``: any value of its type)."""
        c = f.metadata.get("choices")
        if c is None:
            return None
        return tuple(c() if callable(c) else c)

    @classmethod
    def cli_fields(cls) -> list[dataclasses.Field]:
        """The fields a command line sets (``metadata["cli"]`` true)."""
        return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", False)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (lists for tuples)."""
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()  # type: ignore[call-overload]
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        """Inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        if not isinstance(d, dict):
            raise TypeError(f"config: expected a dict, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(
                f"config: unknown keys {unknown} for {cls.__name__}; valid: {sorted(names)}"
            )
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
