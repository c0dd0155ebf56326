"""The comparison spec: TOML → validated :class:`Spec` → :class:`Run` objects.

Everything here runs before any data is read or any model is built, so a bad spec fails at once
with the path of the offending key (``methods.bop.config.taux``) and the valid choices. The spec
format is documented in :mod:`bnnlab.experiments.compare`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["BACKENDS", "SEEDING", "Run", "Spec", "Variant", "load_spec", "parse_spec"]

#: Top-level keys of a spec (required ones first).
REQUIRED_KEYS = ("name", "datasets", "seeds", "epochs", "methods")
OPTIONAL_KEYS = ("description", "backend", "data_root")
#: Keys of a ``[methods.<label>]`` table.
METHOD_KEYS = ("method", "config", "grid")
BACKENDS = ("auto", "numba", "numpy", "cupy")

#: How a run's data seed and method seed derive from its seed (recorded with every run).
SEEDING = "SeedSequence(seed).spawn(2) -> (data, method); each generate_state(1, uint32)[0]"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _load_data(dataset: str, seed: int, root: str | None) -> tuple[Any, Any, Any, Any]:
    """The one place the harness reads data: ±1 ``int8`` ``(x_train, y_train, x_test, y_test)``."""
    from bnnlab.data import load_binary

    return load_binary(dataset, seed, root=root)


def _dataset_names() -> tuple[str, ...]:
    """The dataset names :func:`_load_data` accepts."""
    from bnnlab.data import binary_datasets

    return tuple(binary_datasets())


def derive_seeds(seed: int) -> tuple[int, int]:
    """``(data_seed, method_seed)`` of a run seed (see :data:`SEEDING`): the one helper shared
    with the command line and the paper reproduction, :func:`bnnlab._validation.derive_seeds`."""
    from bnnlab._validation import derive_seeds as derive

    return derive(seed)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One labelled method configuration (a ``[methods.<label>]`` table, or one point of its grid).

    Attributes
    ----------
    label : str
        ``<label>`` without a grid, ``<label>[field=value,...]`` for a grid point.
    group : str
        The ``[methods.<label>]`` table it comes from.
    method : str
        Registered method alias (:data:`bnnlab.learn.method.METHODS`).
    config : dict
        The full configuration (``config_class.to_dict()``, every field).
    params : dict
        The grid values of this point (empty without a grid).
    """

    label: str
    group: str
    method: str
    config: dict[str, Any]
    params: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run: a variant on a dataset from a seed for the spec's epochs."""

    variant: Variant
    dataset: str
    seed: int
    epochs: int
    backend: str = "auto"
    data_root: str | None = None

    @property
    def seeds(self) -> tuple[int, int]:
        """``(data_seed, method_seed)`` (:func:`derive_seeds`)."""
        return derive_seeds(self.seed)

    def record_config(self) -> dict[str, Any]:
        """The run's identity in the records (the backend and data location are left out)."""
        data_seed, method_seed = self.seeds
        return {
            "method": self.variant.method,
            "label": self.variant.label,
            "config": self.variant.config,
            "dataset": self.dataset,
            "seed": self.seed,
            "epochs": self.epochs,
            "data_seed": data_seed,
            "method_seed": method_seed,
            "seeding": SEEDING,
        }

    def describe(self) -> str:
        """``label on dataset, seed s`` for progress lines and errors."""
        return f"{self.variant.label} on {self.dataset}, seed {self.seed}"


@dataclasses.dataclass(frozen=True)
class Spec:
    """A validated comparison spec (see :mod:`bnnlab.experiments.compare` for the format)."""

    name: str
    datasets: tuple[str, ...]
    seeds: tuple[int, ...]
    epochs: int
    variants: tuple[Variant, ...]
    backend: str = "auto"
    data_root: str | None = None
    description: str = ""

    @property
    def record_name(self) -> str:
        """File-name prefix of the records: ``compare-<name>``."""
        return f"compare-{self.name}"

    def runs(self) -> list[Run]:
        """Every run, ordered dataset → seed → variant (so runs of one seed share loaded data)."""
        return [
            Run(v, d, s, self.epochs, self.backend, self.data_root)
            for d in self.datasets
            for s in self.seeds
            for v in self.variants
        ]


# -- validation -------------------------------------------------------------------------------
def _type_name(value: Any) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a float",
        bool: "a boolean",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _expect(value: Any, path: str, kind: type | tuple[type, ...], what: str) -> None:
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise TypeError(f"{path}: expected {what}, got a boolean")
    if not isinstance(value, kind):
        raise TypeError(f"{path}: expected {what}, got {_type_name(value)}")


def _unknown(keys: Mapping[str, Any], valid: tuple[str, ...] | list[str], where: str) -> None:
    for key in keys:
        if key not in valid:
            path = f"{where}.{key}" if where else key
            raise ValueError(f"{path}: unknown key; valid: {', '.join(sorted(valid))}")


def _name(value: Any, path: str) -> str:
    _expect(value, path, str, "a string")
    if not _NAME.fullmatch(value):
        raise ValueError(
            f"{path}: expected letters, digits, '_', '.' or '-' (starting with a letter or "
            f"digit), got {value!r}"
        )
    return value


def _seeds(value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ValueError(f"seeds: expected a count >= 1 or a list of seeds, got {value}")
        return tuple(range(value))
    _expect(value, "seeds", list, "a count or an array of integers")
    if not value:
        raise ValueError("seeds: empty list; give at least one seed (or a count)")
    out: list[int] = []
    for i, s in enumerate(value):
        _expect(s, f"seeds[{i}]", int, "an integer")
        if s < 0:
            raise ValueError(f"seeds[{i}]: expected a seed >= 0, got {s}")
        if s in out:
            raise ValueError(f"seeds[{i}]: duplicate seed {s}")
        out.append(s)
    return tuple(out)


def _datasets(value: Any) -> tuple[str, ...]:
    _expect(value, "datasets", list, "an array of dataset names")
    if not value:
        raise ValueError("datasets: empty list; give at least one dataset")
    valid = _dataset_names()
    out: list[str] = []
    for i, d in enumerate(value):
        _expect(d, f"datasets[{i}]", str, "a dataset name")
        from bnnlab.data import variants

        try:
            variants.parse(d, tuple(valid))
        except ValueError as exc:
            raise ValueError(
                f"datasets[{i}]: unknown dataset {d!r}; valid: {', '.join(valid)}, optionally "
                f"with variants ({exc})"
            ) from None
        if d in out:
            raise ValueError(f"datasets[{i}]: duplicate dataset {d!r}")
        out.append(d)
    return tuple(out)


def _format_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _config_error(
    exc: Exception, group: str, cfg: Mapping[str, Any], grid_point: Mapping[str, Any], label: str
) -> str:
    """Attach the spec path of the field a config class complained about."""
    msg = str(exc)
    field = msg.split(":", 1)[0].strip()
    if field in grid_point:
        return (
            f"methods.{group}.grid.{field}: value {_format_value(grid_point[field])} "
            f"(variant {label}): {msg}"
        )
    if field in cfg:
        return f"methods.{group}.config.{field}: {msg}"
    return f"methods.{group}.config (variant {label}): {msg}"


def _variants(group: str, table: Any) -> list[Variant]:
    """Validate one ``[methods.<group>]`` table and expand its grid."""
    from bnnlab.learn.method import METHODS, available, get

    where = f"methods.{group}"
    _name(group, f"{where} (the label)")
    _expect(table, where, dict, "a table with method, config and grid")
    _unknown(table, METHOD_KEYS, where)
    if "method" not in table:
        raise ValueError(f"{where}.method: missing; valid methods: {', '.join(available())}")
    alias = table["method"]
    _expect(alias, f"{where}.method", str, "a method alias")
    if alias not in METHODS:
        raise ValueError(
            f"{where}.method: unknown method {alias!r}; valid: {', '.join(available())}"
        )
    cls = get(alias).config_class
    fields = {f.name: f for f in dataclasses.fields(cls)}
    valid = sorted(fields)
    cfg = table.get("config", {})
    _expect(cfg, f"{where}.config", dict, "a table of config fields")
    grid = table.get("grid", {})
    _expect(grid, f"{where}.grid", dict, "a table of field = [values]")
    for part, keys in (("config", cfg), ("grid", grid)):
        for key in keys:
            if key not in fields:
                raise ValueError(
                    f"{where}.{part}.{key}: unknown field of {cls.__name__} (method {alias!r}); "
                    f"valid: {', '.join(valid)}"
                )
    for key, values in grid.items():
        if key in cfg:
            raise ValueError(f"{where}.grid.{key}: also set in {where}.config; set it in one place")
        _expect(values, f"{where}.grid.{key}", list, "an array of values")
        if not values:
            raise ValueError(f"{where}.grid.{key}: empty list; give at least one value")
    for part, key, value in [("config", k, v) for k, v in cfg.items()] + [
        ("grid", k, v) for k, vs in grid.items() for v in vs
    ]:
        if "tuple" in str(fields[key].type) and not isinstance(value, list):
            raise TypeError(
                f"{where}.{part}.{key}: expected an array (e.g. [15, 15]), got {_type_name(value)}"
            )

    out: list[Variant] = []
    keys = list(grid)
    for point in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, point, strict=True))
        label = group
        if params:
            label += "[" + ",".join(f"{k}={_format_value(v)}" for k, v in params.items()) + "]"
        try:
            config = cls.from_dict({**cfg, **params})
        except (TypeError, ValueError) as exc:
            raise type(exc)(_config_error(exc, group, cfg, params, label)) from None
        out.append(Variant(label, group, alias, config.to_dict(), params))
    return out


def parse_spec(spec: Mapping[str, Any], *, base_dir: str | os.PathLike[str] | None = None) -> Spec:
    """Validate a spec given as a mapping (the parsed TOML) and return a :class:`Spec`.

    Parameters
    ----------
    spec : mapping
        The spec's tables (see :mod:`bnnlab.experiments.compare`).
    base_dir : path, optional
        Directory a relative ``data_root`` is resolved against (the spec file's directory when the
        spec is read by :func:`load_spec`; the working directory when omitted).

    Raises
    ------
    TypeError, ValueError
        On the first problem, naming its path in the spec (``methods.lb.grid.rob``) and, for an
        unknown key or choice, the valid ones.
    """
    if not isinstance(spec, Mapping):
        raise TypeError(f"spec: expected a mapping of tables, got {type(spec).__name__}")
    _unknown(spec, REQUIRED_KEYS + OPTIONAL_KEYS, "")
    for key in REQUIRED_KEYS:
        if key not in spec:
            raise ValueError(f"{key}: missing (required keys: {', '.join(REQUIRED_KEYS)})")
    name = _name(spec["name"], "name")
    description = spec.get("description", "")
    _expect(description, "description", str, "a string")
    datasets = _datasets(spec["datasets"])
    seeds = _seeds(spec["seeds"])
    epochs = spec["epochs"]
    _expect(epochs, "epochs", int, "an integer")
    if epochs < 1:
        raise ValueError(f"epochs: expected an integer >= 1, got {epochs}")
    backend = spec.get("backend", "auto")
    _expect(backend, "backend", str, "a string")
    if backend not in BACKENDS:
        raise ValueError(f"backend: unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    data_root = spec.get("data_root")
    if data_root is not None:
        _expect(data_root, "data_root", str, "a directory path")
        root = Path(data_root).expanduser()
        if not root.is_absolute() and base_dir is not None:
            root = Path(base_dir) / root
        data_root = str(root)
    methods = spec["methods"]
    _expect(methods, "methods", dict, "tables [methods.<label>]")
    if not methods:
        raise ValueError("methods: no [methods.<label>] table; give at least one")
    variants: list[Variant] = []
    seen: dict[str, str] = {}
    for group, table in methods.items():
        for v in _variants(group, table):
            if v.label in seen:
                raise ValueError(
                    f"methods.{group}: variant label {v.label!r} is already used by "
                    f"methods.{seen[v.label]}; labels must be unique"
                )
            seen[v.label] = group
            variants.append(v)
    return Spec(name, datasets, seeds, epochs, tuple(variants), backend, data_root, description)


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """Read and validate a TOML spec file (errors are prefixed with the file's path).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    TypeError, ValueError
        On invalid TOML or an invalid spec (see :func:`parse_spec`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"spec: no spec file at {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML ({exc})") from None
    try:
        return parse_spec(data, base_dir=path.resolve().parent)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{path}: {exc}") from None
