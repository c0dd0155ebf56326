"""bnnlab.theory.distributions: exact closed forms, numeric solvers, Monte-Carlo agreement."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp
from scipy import stats

from bnnlab.theory import _derivation
from bnnlab.theory import distributions as D
from bnnlab.theory._derivation import G, M, f, q, t

FIELDS = (
    "fraction",
    "threshold",
    "threshold_std",
    "entropy",
    "best_cosine",
    "median_cosine",
    "sign_cosine",
)


def is_exactly(expr, expected) -> bool:
    """Symbolic equality, and no floating-point number inside ``expr``."""
    return not expr.has(sp.Float) and sp.simplify(expr - expected) == 0


# ------------------------------------------------------------------------------------------------
# Generic derivation


def _step(title_start: str) -> D.Step:
    steps = [s for s in D.derivation() if s.title.startswith(title_start)]
    return steps[0]


def test_derivation_stationary_condition_and_self_consistency():
    assert _step("stationary condition").expr == sp.Eq(M(t), 2 * t * q(t))
    assert _step("self-consistency").expr == sp.Eq(t, M(t) / (2 * q(t)))
    m2 = _derivation.m2
    assert _step("cosine at the optimum").expr == sp.Eq(
        _derivation.C(t), 2 * t * sp.sqrt(q(t)) / sp.sqrt(m2)
    )


def test_derivation_derivative_and_uniqueness_terms():
    m2 = _derivation.m2
    factored = _step("factored derivative").expr.rhs
    expected = f(t) * (M(t) - 2 * t * q(t)) / (2 * sp.sqrt(m2) * q(t) ** sp.Rational(3, 2))
    assert sp.simplify(factored - expected) == 0
    assert _step("sign of C'(t)").expr == sp.Eq(G(t), M(t) - 2 * t * q(t))
    assert sp.expand(_step("G'(t)").expr.rhs - (t * f(t) - 2 * q(t))) == 0
    assert sp.expand(_step("G''(t)").expr.rhs - (3 * f(t) + t * sp.diff(f(t), t))) == 0


def test_generic_derivative_matches_a_concrete_family():
    """Plug the Laplace density into the generic derivative and differentiate the closed form."""
    fam = _derivation.symbolic_family("laplace")
    generic = _step("derivative").expr.rhs
    concrete = generic.subs(
        {q(t): fam.tail_prob, M(t): fam.tail_moment, _derivation.m2: fam.second_moment}
    )
    concrete = concrete.subs(f(t), fam.density.subs(_derivation.v, t))
    direct = sp.diff(fam.tail_moment / sp.sqrt(fam.tail_prob * fam.second_moment), t)
    s = fam.scale
    for tv, sv in [(0.3, 1.0), (1.0, 2.0), (2.5, 0.7)]:
        assert float(concrete.subs({t: tv, s: sv})) == pytest.approx(
            float(direct.subs({t: tv, s: sv})), rel=1e-13
        )


@pytest.mark.parametrize("family", ["laplace", "gaussian", "gennorm"])
def test_elasticity_non_increasing_gives_uniqueness(family):
    fam = _derivation.symbolic_family(family)
    eta = fam.elasticity()
    assert sp.diff(eta, t).is_nonpositive
    # G'' = f (3 + eta) changes sign exactly once: at the unique positive root of 3 + eta.
    (root,) = sp.solve(sp.Eq(eta, -3), t)
    assert root.is_positive


def test_uniform_sign_function_has_one_interior_root():
    fam = _derivation.symbolic_family("uniform")
    a = fam.scale
    g = sp.factor(fam.tail_moment - 2 * t * fam.tail_prob)
    assert sp.simplify(g - (a - t) * (a - 3 * t) / (2 * a)) == 0


def test_gennorm_incomplete_gamma_tails_verified_by_sympy():
    checks = _derivation.symbolic_family("gennorm").checks
    assert checks and all(checks.values()), checks


def test_gennorm_condition_specialises_to_laplace_and_gaussian():
    tau = _derivation.tau
    lap = D.stationary_condition("gennorm", beta=1)
    assert sp.solve(sp.Eq(sp.simplify(lap.lhs), lap.rhs), tau) == [1]
    # beta = 2 is the Gaussian with alpha = sigma sqrt(2): the same equation after tau -> tau/sqrt2.
    g2 = D.stationary_condition("gennorm", beta=2)
    ga = D.stationary_condition("gaussian")
    lhs2 = g2.lhs.subs(tau, tau / sp.sqrt(2)) * sp.sqrt(2)
    for x in (0.2, 0.61, 1.7):
        assert float(lhs2.subs(tau, x)) == pytest.approx(float(ga.lhs.subs(tau, x)), rel=1e-13)


@pytest.mark.parametrize("family", D.FAMILIES)
def test_family_derivation_is_symbolic(family):
    steps = D.family_derivation(family)
    assert len(steps) >= 7
    assert all(isinstance(s.expr, sp.Basic) for s in steps)
    assert not any(s.expr.has(sp.Float) for s in steps)


# ------------------------------------------------------------------------------------------------
# Exact closed forms


def test_laplace_exact():
    ex = D.exact_optimum("laplace")
    e = sp.E
    assert is_exactly(ex.fraction, sp.exp(-1))
    assert is_exactly(ex.threshold, 1)
    assert is_exactly(ex.threshold_std, 1 / sp.sqrt(2))
    assert is_exactly(ex.best_cosine, sp.sqrt(2 / e))
    assert is_exactly(ex.median_cosine, (1 + sp.log(2)) / 2)
    assert is_exactly(ex.sign_cosine, 1 / sp.sqrt(2))
    h = (sp.exp(-1) - (1 - sp.exp(-1)) * sp.log(1 - sp.exp(-1))) / sp.log(2)
    assert is_exactly(ex.entropy, h)
    tau = _derivation.tau
    assert sp.simplify(ex.condition.lhs - ex.condition.rhs - (1 - tau)) == 0


def test_uniform_exact():
    ex = D.exact_optimum("uniform")
    assert is_exactly(ex.fraction, sp.Rational(2, 3))
    assert is_exactly(ex.threshold, sp.Rational(1, 3))
    assert is_exactly(ex.threshold_std, 1 / sp.sqrt(3))
    assert is_exactly(ex.best_cosine, 2 * sp.sqrt(2) / 3)
    assert is_exactly(ex.median_cosine, 3 * sp.sqrt(6) / 8)
    assert is_exactly(ex.sign_cosine, sp.sqrt(3) / 2)
    assert is_exactly(ex.entropy, sp.log(3) / sp.log(2) - sp.Rational(2, 3))


@pytest.mark.parametrize("family", ["gaussian", "gennorm"])
def test_no_closed_form_is_refused(family):
    with pytest.raises(ValueError, match=r"^family: .*no closed-form"):
        D.exact_optimum(family)


@pytest.mark.parametrize("family", D.CLOSED_FORM)
def test_auto_optimum_evaluates_closed_form(family):
    ex = D.exact_optimum(family)
    opt = D.optimum(family)
    assert opt.method == "closed form"
    for name in FIELDS:
        assert getattr(opt, name) == float(sp.N(getattr(ex, name), 30))


# ------------------------------------------------------------------------------------------------
# Numeric solvers and cross-checks


@pytest.mark.parametrize("family", D.CLOSED_FORM)
def test_numeric_solver_reproduces_closed_forms(family):
    exact, num = D.optimum(family), D.optimum(family, method="numeric")
    assert num.method == "numeric"
    for name in FIELDS:
        assert getattr(num, name) == pytest.approx(getattr(exact, name), abs=1e-13, rel=1e-13)


def test_gennorm_beta1_is_laplace():
    lap, gn = D.optimum("laplace"), D.optimum("gennorm", beta=1.0)
    for name in FIELDS:
        assert abs(getattr(gn, name) - getattr(lap, name)) < 1e-10, name


def test_gennorm_beta2_is_gaussian():
    ga, gn = D.optimum("gaussian"), D.optimum("gennorm", beta=2.0)
    for name in (
        "fraction",
        "threshold_std",
        "entropy",
        "best_cosine",
        "median_cosine",
        "sign_cosine",
    ):
        assert abs(getattr(gn, name) - getattr(ga, name)) < 1e-10, name
    assert abs(gn.threshold * math.sqrt(2) - ga.threshold) < 1e-10  # alpha = sigma sqrt(2)


@pytest.mark.parametrize(
    ("family", "beta"),
    [("gaussian", None), ("gennorm", 0.3), ("gennorm", 0.7), ("gennorm", 3.0), ("gennorm", 20.0)],
)
def test_numeric_matches_mpmath_reference(family, beta):
    opt = D.optimum(family, beta)
    ref_t = float(D.reference_threshold(family, beta, digits=30))
    ref_p = float(D.reference_fraction(family, beta, digits=30))
    assert abs(opt.threshold - ref_t) <= 1e-10 * max(1.0, ref_t)
    assert abs(opt.fraction - ref_p) <= 1e-10


def test_gaussian_reference_values():
    # Independent of the implementation: the root of sqrt(2/pi) e^{-x^2/2} = 2 x erfc(x/sqrt2).
    tau = float(D.reference_threshold("gaussian"))
    assert math.sqrt(2 / math.pi) * math.exp(-(tau**2) / 2) == pytest.approx(
        2 * tau * math.erfc(tau / math.sqrt(2)), rel=1e-14
    )
    assert D.optimum("gaussian").fraction == pytest.approx(math.erfc(tau / math.sqrt(2)), abs=1e-14)


def test_large_beta_tends_to_uniform():
    uni = D.optimum("uniform")
    betas = [10.0, 100.0, 1e3, 1e4, 1e5]
    gaps = {
        name: [abs(getattr(D.optimum("gennorm", b), name) - getattr(uni, name)) for b in betas]
        for name in ("fraction", "threshold", "entropy", "best_cosine", "median_cosine")
    }
    for name, gap in gaps.items():
        assert all(g2 < g1 for g1, g2 in itertools.pairwise(gap)), (name, gap)
        assert gap[-1] < 1e-4, (name, gap)
    assert gaps["fraction"][-1] < 1e-10


@pytest.mark.parametrize(
    ("family", "beta"),
    [(f, None) for f in (*D.CLOSED_FORM, "gaussian")]
    + [("gennorm", b) for b in (0.3, 0.5, 1.5, 8.0, 50.0)],
)
def test_cosine_curve_peaks_at_the_optimum(family, beta):
    opt = D.optimum(family, beta)
    grid = np.linspace(1e-4, 1.0, 20001)
    curve = D.cosine_curve(family, grid, beta)
    i = int(np.argmax(curve))
    assert abs(grid[i] - opt.fraction) < 2e-3
    assert curve[i] <= opt.best_cosine + 1e-14
    assert curve[i] == pytest.approx(opt.best_cosine, abs=1e-7)
    # unique maximum: increasing before the peak, decreasing after
    assert np.all(np.diff(curve[: i + 1]) > 0) and np.all(np.diff(curve[i:]) < 0)
    assert D.cosine_curve(family, 1.0, beta) == pytest.approx(opt.sign_cosine, rel=1e-12)
    assert D.cosine_curve(family, 0.5, beta) == pytest.approx(opt.median_cosine, rel=1e-12)
    assert opt.best_cosine == pytest.approx(
        2 * opt.threshold_std * math.sqrt(opt.fraction), rel=1e-12
    )


def test_cosine_curve_closed_forms():
    p = np.array([0.01, 0.2, 1 / math.e, 0.5, 0.9, 1.0])
    np.testing.assert_allclose(
        D.cosine_curve("laplace", p), np.sqrt(p) * (1 - np.log(p)) / math.sqrt(2), rtol=1e-14
    )
    np.testing.assert_allclose(
        D.cosine_curve("uniform", p), math.sqrt(3) * np.sqrt(p) * (2 - p) / 2, rtol=1e-14
    )


@pytest.mark.parametrize("beta", [0.4, 1.0, 2.0, 6.0, 100.0])
def test_gennorm_sampler_matches_scipy(beta):
    w = D.sample_weights("gennorm", 20000, seed=11, beta=beta)
    assert stats.kstest(w, stats.gennorm(beta).cdf).pvalue > 1e-3


# ------------------------------------------------------------------------------------------------
# Monte Carlo: the analytic values lie inside the 99.9 % intervals of the exact finite-n solver.
# Finite-n bias is O(1/n) (measured c/n with |c| <= 6 for all light-tailed families, see
# analysis/01_angle_alignment.py) while the half-width is ~3.3 sd / sqrt(n reps): n >> reps keeps
# the bias a small fraction of the interval. Heavy tails (beta = 0.3) converge more slowly and get a
# larger n.


@pytest.mark.parametrize(
    ("family", "beta", "n", "reps"),
    [
        ("laplace", None, 5000, 50),
        ("gaussian", None, 5000, 50),
        ("uniform", None, 5000, 50),
        ("gennorm", 0.5, 5000, 50),
        ("gennorm", 4.0, 5000, 50),
        ("gennorm", 0.3, 40000, 30),
    ],
)
def test_monte_carlo_agrees_with_analytic(family, beta, n, reps):
    mc = D.monte_carlo(family, n, reps, seed=2026, beta=beta)
    opt = D.optimum(family, beta)
    assert mc.agreement(opt) == dict.fromkeys(D.MC_FIELDS, True), (mc, opt)
    # the intervals are informative, not vacuous
    assert mc.fraction.high - mc.fraction.low < 0.02
    assert mc.best_cosine.high - mc.best_cosine.low < 0.02


def test_monte_carlo_curve_agrees_with_cosine_curve():
    fr = np.array([0.05, 0.2, 0.5, 0.8, 1.0])
    ests = D.monte_carlo_curve("laplace", fr, 10000, 60, seed=7)
    analytic = D.cosine_curve("laplace", fr)
    assert all(e.contains(a) for e, a in zip(ests, analytic, strict=True))


def test_monte_carlo_is_deterministic_and_detects_a_wrong_value():
    a = D.monte_carlo("gaussian", 2000, 20, seed=5)
    b = D.monte_carlo("gaussian", 2000, 20, seed=np.random.default_rng(5))
    assert a.fraction == b.fraction and a.best_cosine == b.best_cosine
    assert a.seed == 5 and b.seed is None
    wrong = D.optimum("laplace")  # the Laplace values are far outside the Gaussian intervals
    assert not any(a.agreement(wrong)[k] for k in ("fraction", "best_cosine", "sign_cosine"))


# ------------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (lambda: D.optimum("cauchy"), ValueError, "^family: expected one of"),
        (lambda: D.optimum(3), TypeError, "^family:"),
        (lambda: D.optimum("gennorm"), ValueError, "^beta:"),
        (lambda: D.optimum("gennorm", beta=0.0), ValueError, "^beta:"),
        (lambda: D.optimum("gennorm", beta=-1.0), ValueError, "^beta:"),
        (lambda: D.optimum("gennorm", beta=float("inf")), ValueError, "^beta:"),
        (lambda: D.optimum("gennorm", beta="2"), TypeError, "^beta:"),
        (lambda: D.optimum("gennorm", beta=0.01), ValueError, "^beta: .*too heavy-tailed"),
        (lambda: D.optimum("laplace", beta=2.0), ValueError, "^beta: only used"),
        (lambda: D.optimum("laplace", method="sympy"), ValueError, "^method:"),
        (lambda: D.cosine_curve("laplace", [0.0, 0.5]), ValueError, "^fractions:"),
        (lambda: D.cosine_curve("laplace", [0.5, 1.5]), ValueError, "^fractions:"),
        (lambda: D.cosine_curve("laplace", [np.nan]), ValueError, "^fractions:"),
        (lambda: D.cosine_curve("laplace", []), ValueError, "^fractions:"),
        (lambda: D.exact_optimum("cauchy"), ValueError, "^family:"),
        (lambda: D.family_derivation("cauchy"), ValueError, "^family:"),
        (lambda: D.stationary_condition("cauchy"), ValueError, "^family:"),
        (lambda: D.reference_threshold("gaussian", digits=5), ValueError, "^digits:"),
        (lambda: D.monte_carlo("laplace", 1, 10, seed=0), ValueError, "^n:"),
        (lambda: D.monte_carlo("laplace", 100, 1, seed=0), ValueError, "^reps:"),
        (lambda: D.monte_carlo("laplace", 100, 10, seed=None), TypeError, "^seed:"),
        (lambda: D.monte_carlo("laplace", 100, 10, 0, confidence=1.0), ValueError, "^confidence:"),
        (lambda: D.monte_carlo_curve("laplace", [2.0], 100, 10, 0), ValueError, "^fractions:"),
        (lambda: D.sample_weights("laplace", (0, 3), 0), ValueError, "^shape:"),
    ],
)
def test_validation(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
