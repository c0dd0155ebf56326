"""The comparison spec: parsing, grid expansion, seeds, and every validation error (no training)."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest

from bnnlab.experiments.compare import (
    SEEDING,
    derive_seeds,
    load_spec,
    parse_spec,
    run_comparison,
)

GOOD = """
name = "demo"
datasets = ["fashion-mnist-mini", "prototypes"]
seeds = 2
epochs = 3

[methods.lb]
method = "local-binary"
config = { layers = [15, 15] }
grid = { rob = [0.1, 0.25], batch_size = [100, 250] }

[methods.cpr]
method = "cp-r"
config = { layers = [20, 4] }
"""


def _spec(tmp_path, text):
    path = tmp_path / "spec.toml"
    path.write_text(textwrap.dedent(text))
    return load_spec(path)


def test_grid_expands_in_order_with_full_configs(tmp_path):
    spec = _spec(tmp_path, GOOD)
    assert spec.name == "demo" and spec.record_name == "compare-demo"
    assert spec.seeds == (0, 1) and spec.epochs == 3 and spec.backend == "auto"
    assert [v.label for v in spec.variants] == [
        "lb[rob=0.1,batch_size=100]",
        "lb[rob=0.1,batch_size=250]",
        "lb[rob=0.25,batch_size=100]",
        "lb[rob=0.25,batch_size=250]",
        "cpr",
    ]
    v = spec.variants[1]
    assert v.method == "local-binary" and v.group == "lb"
    assert v.params == {"rob": 0.1, "batch_size": 250}
    # the full configuration: given fields, grid point and every default
    assert v.config["layers"] == [15, 15] and v.config["rob"] == 0.1
    assert v.config["batch_size"] == 250 and v.config["p_r"] == 0.5
    assert spec.variants[-1].config["layers"] == [20, 4]
    runs = spec.runs()
    assert len(runs) == 2 * 2 * 5
    # ordered dataset -> seed -> variant
    assert [(r.dataset, r.seed) for r in runs[:6]] == [("fashion-mnist-mini", 0)] * 5 + [
        ("fashion-mnist-mini", 1)
    ]


def test_every_variant_of_a_seed_shares_data_and_method_seeds(tmp_path):
    spec = _spec(tmp_path, GOOD)
    by_seed = {}
    for r in spec.runs():
        cfg = r.record_config()
        assert cfg["seeding"] == SEEDING and cfg["seed"] == r.seed and cfg["epochs"] == 3
        assert set(cfg) == {
            "method",
            "label",
            "config",
            "dataset",
            "seed",
            "epochs",
            "data_seed",
            "method_seed",
            "seeding",
        }
        by_seed.setdefault(r.seed, set()).add((cfg["data_seed"], cfg["method_seed"]))
    assert all(len(s) == 1 for s in by_seed.values())
    assert by_seed[0] != by_seed[1]
    data_ss, method_ss = np.random.SeedSequence(1).spawn(2)
    assert derive_seeds(1) == (
        int(data_ss.generate_state(1, np.uint32)[0]),
        int(method_ss.generate_state(1, np.uint32)[0]),
    )
    assert derive_seeds(1)[0] != derive_seeds(1)[1]


def test_seed_list_and_data_root_relative_to_the_spec(tmp_path):
    text = GOOD.replace("seeds = 2", 'seeds = [7, 3]\ndata_root = "data"\nbackend = "numpy"')
    spec = _spec(tmp_path, text)
    assert spec.seeds == (7, 3) and spec.backend == "numpy"
    assert spec.data_root == str(tmp_path.resolve() / "data")


LB = '[methods.lb]\nmethod = "local-binary"\n'


def _with(top="", methods=LB + "config = { layers = [15, 15] }\n"):
    return f'name = "x"\ndatasets = ["prototypes"]\nseeds = 2\nepochs = 1\n{top}\n{methods}'


BAD = [
    # (spec text, exception type, regex the message must match)
    (_with(top="epoch = 3"), ValueError, r"epoch: unknown key; valid: .*epochs.*methods"),
    (_with().replace("epochs = 1\n", ""), ValueError, r"epochs: missing"),
    (
        _with(methods='[methods.b]\nmethod = "bopp"\n'),
        ValueError,
        r"methods\.b\.method: unknown method 'bopp'; valid: binary-connect, .*bop, cp-r, .*"
        r"local-binary, .*signum",
    ),
    (
        _with(methods="[methods.b]\nconfig = {}\n"),
        ValueError,
        r"methods\.b\.method: missing; valid",
    ),
    (
        _with(methods=LB + "config = { taux = 1.0 }\n"),
        ValueError,
        r"methods\.lb\.config\.taux: unknown field of LocalBinaryMethodConfig .*valid: .*batch_size.*rob",
    ),
    (
        _with(methods=LB + "grid = { robb = [0.1] }\n"),
        ValueError,
        r"methods\.lb\.grid\.robb: unknown field .*valid: .*rob",
    ),
    (
        _with(methods=LB + "grids = { rob = [0.1] }\n"),
        ValueError,
        r"methods\.lb\.grids: unknown key; valid: config, grid, method",
    ),
    (
        _with(methods=LB + 'config = { layers = [15, 15], rob = "high" }\n'),
        TypeError,
        r"methods\.lb\.config\.rob: rob: expected a real number",
    ),
    (
        _with(methods=LB + "config = { layers = [15, 15] }\ngrid = { rob = [0.1, 2.0] }\n"),
        ValueError,
        r"methods\.lb\.grid\.rob: value 2\.0 \(variant lb\[rob=2\.0\]\): rob: expected a value <= 1",
    ),
    (
        _with(methods=LB + "config = { layers = [15, 15], groups = [4, 5] }\n"),
        ValueError,
        r"methods\.lb\.config\.groups: groups: group size 4 does not divide",
    ),
    (
        _with(methods=LB + "config = { layers = 15 }\n"),
        TypeError,
        r"methods\.lb\.config\.layers: expected an array",
    ),
    (
        _with(methods=LB + "config = { batch_size = 100 }\ngrid = { batch_size = [50] }\n"),
        ValueError,
        r"methods\.lb\.grid\.batch_size: also set in methods\.lb\.config",
    ),
    (
        _with(methods=LB + "grid = { rob = [] }\n"),
        ValueError,
        r"methods\.lb\.grid\.rob: empty list",
    ),
    (
        _with(methods=LB + "grid = { rob = 0.1 }\n"),
        TypeError,
        r"methods\.lb\.grid\.rob: expected an array of values, got a float",
    ),
    (
        _with(methods=LB + "grid = { rob = [0.1, 0.1] }\n"),
        ValueError,
        r"variant label 'lb\[rob=0\.1\]' is already used",
    ),
    (_with().replace('["prototypes"]', "[]"), ValueError, r"datasets: empty list"),
    (
        _with().replace('["prototypes"]', '["mnist"]'),
        ValueError,
        r"datasets\[0\]: unknown dataset 'mnist'; valid: fashion-mnist, fashion-mnist-mini, prototypes",
    ),
    (_with().replace("seeds = 2", "seeds = []"), ValueError, r"seeds: empty list"),
    (_with().replace("seeds = 2", "seeds = 0"), ValueError, r"seeds: expected a count >= 1"),
    (_with().replace("seeds = 2", "seeds = [1, 1]"), ValueError, r"seeds\[1\]: duplicate seed 1"),
    (_with().replace("seeds = 2", "seeds = [-1]"), ValueError, r"seeds\[0\]: expected a seed >= 0"),
    (
        _with().replace("seeds = 2", "seeds = 1.5"),
        TypeError,
        r"seeds: expected a count or an array",
    ),
    (_with().replace("epochs = 1", "epochs = 0"), ValueError, r"epochs: expected an integer >= 1"),
    (_with().replace("epochs = 1", "epochs = true"), TypeError, r"epochs: expected an integer"),
    (
        _with(top='backend = "gpu"'),
        ValueError,
        r"backend: unknown backend 'gpu'; valid: auto, numba, numpy, cupy",
    ),
    (_with().replace('name = "x"', 'name = "a/b"'), ValueError, r"name: expected letters"),
    (_with(methods="methods = {}\n"), ValueError, r"methods: no \[methods\.<label>\] table"),
    (
        _with(methods='[methods."a b"]\nmethod = "cp-r"\n'),
        ValueError,
        r"methods\.a b \(the label\)",
    ),
    ("name = [", ValueError, r"spec\.toml: invalid TOML"),
]


@pytest.mark.parametrize(("text", "exc", "pattern"), BAD, ids=[p for _, _, p in BAD])
def test_invalid_specs_name_the_path_and_the_choices(tmp_path, text, exc, pattern):
    with pytest.raises(exc) as info:
        _spec(tmp_path, text)
    msg = str(info.value)
    assert msg.startswith(str(tmp_path / "spec.toml") + ": ")
    assert re.search(pattern, msg), msg


def test_a_valid_base_of_the_bad_specs(tmp_path):
    """The negative control: the base every bad spec above is derived from is valid."""
    spec = _spec(tmp_path, _with())
    assert [v.label for v in spec.variants] == ["lb"]


def test_missing_spec_file_and_non_mapping(tmp_path):
    with pytest.raises(FileNotFoundError, match="spec: no spec file"):
        load_spec(tmp_path / "nope.toml")
    with pytest.raises(TypeError, match="spec: expected a mapping"):
        parse_spec(["name"])


def test_execution_arguments_are_checked_before_anything_starts(tmp_path):
    spec = _spec(tmp_path, GOOD)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="workers: expected an integer >= 1"):
        run_comparison(spec, out, workers=0)
    with pytest.raises(ValueError, match="workers/scheduler: give one of them"):
        run_comparison(spec, out, workers=2, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match=r"scheduler: expected tcp://HOST:PORT"):
        run_comparison(spec, out, scheduler="127.0.0.1:8786")
    with pytest.raises(TypeError, match="spec: expected a Spec"):
        run_comparison(GOOD, out)
    assert not out.exists()


def test_dask_missing_names_the_extra(tmp_path, monkeypatch):
    import sys

    spec = _spec(tmp_path, GOOD)
    monkeypatch.setitem(sys.modules, "distributed", None)  # what an absent package looks like
    with pytest.raises(ImportError, match=r"pip install 'bnnlab\[distributed\]'"):
        run_comparison(spec, tmp_path / "out", workers=2)
    assert not (tmp_path / "out").exists()
