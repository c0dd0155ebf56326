"""String-alias registries (binarizers, learners, optimisers, solvers, device presets).

Entries are registered either as objects or lazily as ``"module:attribute"`` strings, so that a
registry can name something whose module is only imported when the alias is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


class Registry:
    """A named mapping from string aliases to objects.

    Parameters
    ----------
    kind : str
        What the entries are ("binarizer", "learner", ...), used in error messages.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Any] = {}

    def register(self, alias: str, obj: Any = None) -> Any:
        """Register ``obj`` (or a ``"module:attr"`` string) under ``alias``; usable as a decorator."""
        if not isinstance(alias, str) or not alias:
            raise ValueError(f"alias: expected a non-empty string, got {alias!r}")

        def _add(target: Any) -> Any:
            if alias in self._entries and self._entries[alias] is not target:
                raise ValueError(f"alias: {self.kind} {alias!r} is already registered")
            self._entries[alias] = target
            return target

        if obj is None:
            return _add
        return _add(obj)

    def get(self, alias: str) -> Any:
        """Return the entry registered under ``alias`` (importing it if registered lazily)."""
        if alias not in self._entries:
            raise ValueError(
                f"alias: unknown {self.kind} {alias!r}; available: {', '.join(self.available())}"
            )
        entry = self._entries[alias]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
            self._entries[alias] = entry
        return entry

    def available(self) -> list[str]:
        """Sorted list of the registered aliases."""
        return sorted(self._entries)

    def __contains__(self, alias: object) -> bool:
        return alias in self._entries

    def bind(self) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
        """Return ``(get, available)`` to expose as module-level functions."""
        return self.get, self.available
