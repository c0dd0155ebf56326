"""The paper's ablations: grids, networks, paper numbers, resumable runs and their summary."""

from __future__ import annotations

import pytest

from bnnlab.experiments import ablations as ab
from bnnlab.experiments import reproduce as rp


def test_paper_numbers_and_grids():
    gamma = ab.ABLATIONS["gamma"]
    assert gamma.values == (1, 3, 5, 9, 15, 23, 45, 69, 115, 207, 345, 1035)
    assert all(1035 % g == 0 for g in gamma.values)
    assert (gamma.paper[1], gamma.paper[69], gamma.paper[1035]) == (72.42, 85.95, 80.29)
    assert max(gamma.paper, key=gamma.paper.get) == 69  # an intermediate γ is best
    clip = ab.ABLATIONS["clip"]
    assert clip.values == (1, 8, 16, 32, 64, 128) and clip.approx == {1, 8, 16}
    assert (clip.paper[32], clip.paper[128]) == (81.58, 85.17)
    assert ab.ABLATIONS["rob"].values == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert ab.ABLATIONS["rob"].paper == {}
    assert ab.ABLATIONS["depth"].values == (1, 2, 3, 5, 10)


@pytest.mark.parametrize(
    ("name", "value", "layers", "field", "expected"),
    [
        ("gamma", 45, (1035,), "groups", (45,)),
        ("clip", 32, (135, 135), "clip", 32),
        ("rob", 0.75, (525,), "rob", 0.75),
        ("depth", 3, (1035, 1035, 1035), "groups", (115, 115, 115)),
    ],
)
def test_points_are_the_papers_networks(name, value, layers, field, expected):
    a = ab.ABLATIONS[name]
    width, hyper = a.point(value)
    cfg = rp.learner_config(a.learner, "fashion-mnist", width, **hyper)
    assert cfg.layers == layers and getattr(cfg, field) == expected
    default = rp.learner_config(a.learner, "fashion-mnist", width)
    changed = {k for k, v in cfg.to_dict().items() if default.to_dict()[k] != v}
    assert changed <= {field}  # nothing else moves away from the paper's defaults


def test_parse_values():
    assert ab.ABLATIONS["gamma"].parse_values("1, 45,1035") == (1, 45, 1035)
    assert ab.ABLATIONS["rob"].parse_values("0,0.5") == (0.0, 0.5)
    with pytest.raises(ValueError, match=r"^values: expected comma-separated int"):
        ab.ABLATIONS["clip"].parse_values("8,x")


def test_run_summarize_resume(tmp_path, monkeypatch):
    rows = ab.run_ablation("clip", "fashion-mnist-mini", values=(8, 64), seeds=2, epochs=1,
                           out=tmp_path)  # fmt: skip
    assert [r["value"] for r in rows] == [8, 64] and [r["seeds"] for r in rows] == [2, 2]
    assert rows[0]["mean"] < 20.0 < rows[1]["mean"]  # clipping at 8 stops learning (paper: ≈ 10)
    assert all(r["paper_mean"] is None for r in rows)  # the paper's numbers are full F-MNIST
    assert ab.summarize_ablation("clip", "fashion-mnist-mini", out=tmp_path, epochs=1,
                                 values=(8, 64)) == rows  # fmt: skip
    assert ab.summarize_ablation("clip", "fashion-mnist-mini", out=tmp_path, epochs=1,
                                 values=(8, 16)) == rows[:1]  # fmt: skip
    from bnnlab.learn.local.base import BinaryLearnerBase

    def boom(*a, **k):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(BinaryLearnerBase, "fit", boom)
    assert ab.run_ablation("clip", "fashion-mnist-mini", values=(8, 64), seeds=2, epochs=1,
                           out=tmp_path) == rows  # fmt: skip
    assert list(tmp_path.glob("ablation-clip-fashion-mnist-mini-*.jsonl"))


def test_a_default_point_is_shared_with_the_width_table(tmp_path):
    (row,) = ab.run_ablation("rob", "fashion-mnist-mini", values=(0.25,), seeds=1, epochs=1,
                             out=tmp_path)  # fmt: skip
    (width,) = rp.summarize("local-binary", "fashion-mnist-mini", out=tmp_path, epochs=1,
                            widths=["525"])  # fmt: skip
    assert width["finals"] == row["finals"]


def test_paper_column_on_fashion_mnist():
    row = ab._row(ab.ABLATIONS["clip"], 8, "135_135", [11.0], 50, "fashion-mnist")
    assert row["paper_mean"] == 10.0 and row["paper_approx"] and row["diff"] == 1.0
    text = rp.format_table([row], key="value")
    assert "≈" in text and "10.00" in text


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"name": "width"}, ValueError, "^name: expected one of 'gamma'"),
        ({"values": (7,)}, ValueError, "^groups: group size 7 does not divide the width 1035"),
        ({"values": ()}, ValueError, "^values: expected at least one value"),
        ({"overrides": {"groups": 5}}, ValueError, "^overrides: 'groups' is what"),
        ({"seeds": 0}, ValueError, "^seeds: "),
        ({"backend": "tpu"}, ValueError, "^backend: "),
    ],
)
def test_errors_before_any_training(tmp_path, kwargs, exc, match):
    kw = {"name": "gamma", "seeds": 1, "epochs": 1, **kwargs}
    with pytest.raises(exc, match=match):
        ab.run_ablation(kw.pop("name"), "fashion-mnist-mini", out=tmp_path, **kw)
    assert not list(tmp_path.glob("*"))


def test_figure_budget_is_small():
    fast = ab.FIGURE_RUNS[False]
    assert fast["dataset"] == "fashion-mnist-mini" and fast["seeds"] == 1 and fast["epochs"] <= 3
    for name, values in fast["values"].items():
        assert set(values) <= set(ab.ABLATIONS[name].values) and len(values) <= 5
    full = ab.FIGURE_RUNS[True]
    assert full["dataset"] == "fashion-mnist" and full["epochs"] == 50
    assert all(full["values"][n] == a.values for n, a in ab.ABLATIONS.items())
