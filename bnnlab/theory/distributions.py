r"""Continuous limit of the {0, 1} angle alignment: optimal threshold, k*/n, entropy and cosines.

For w ∈ ℝⁿ with magnitudes v = |w| i.i.d. with density f on [0, ∞), the best code b ∈ {0,1}ⁿ with k
ones marks the k largest v and cos(|w|, b) = S_k / (√k ‖v‖). As n → ∞ with k/n → q(t) = P(v > t),

.. math::

    C(t) = \frac{E[v\,\mathbf 1\{v > t\}]}{\sqrt{q(t)\,E[v^2]}}, \qquad
    C'(t) = \frac{f(t)\,\bigl(E[v\,\mathbf 1\{v>t\}] - 2t\,q(t)\bigr)}{2\sqrt{E v^2}\,q(t)^{3/2}},

so the optimal threshold is the self-consistent t* = ½ E[v | v > t*] and k*/n = q(t*). The root is
unique and the global maximum whenever the elasticity t f'(t)/f(t) is non-increasing and eventually
below −3 (every symmetric log-concave w with unbounded support, and the whole generalized-normal
family including its heavy-tailed members β < 1; uniform w is checked directly) — see
:func:`derivation`, which returns each step as a sympy object.

Closed forms (exact sympy, :func:`exact_optimum`):

- Laplace w (v exponential with scale s): t* = s and **k*/n = e⁻¹** whatever the scale; best cosine
  √2·e^{−1/2}, median-split cosine (1 + ln 2)/2, sign-code cosine 1/√2, entropy H(e⁻¹) ≈ 0.950 bit.
- Uniform w on (−a, a): t* = a/3 and k*/n = 2/3; best cosine 2√2/3, median cosine 3√6/8, sign
  cosine √3/2, entropy log₂3 − 2/3.

Gaussian and generalized-normal w (density ∝ exp(−|w/α|^β)) are solved numerically (Brent's method
on double-precision incomplete-gamma tails, accurate to ~1e-14) and cross-checked against mpmath at 30
digits (:func:`reference_threshold`). :func:`monte_carlo` verifies every quantity against the exact
finite-n solver :func:`bnnlab.theory.angle.align`.

References
----------
Lin, Ji, Xu, Zhang, Wu, Shao, Ji, "SiMaN: Sign-to-Magnitude Network Binarization",
arXiv:2102.07981, IEEE TPAMI 45(5), 2023.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import sympy as sp
from scipy import special

from bnnlab._validation import as_array, check_choice, check_int, check_real, make_rng
from bnnlab.entropy import binary_entropy, bit_entropy
from bnnlab.theory import _derivation
from bnnlab.theory._derivation import ExactOptimum, Step, derivation
from bnnlab.theory._families import FAMILIES, SCALE_NAMES, Family, solve_threshold

__all__ = [
    "CLOSED_FORM",
    "FAMILIES",
    "MC_FIELDS",
    "Estimate",
    "ExactOptimum",
    "MonteCarlo",
    "Optimum",
    "Step",
    "cosine_curve",
    "derivation",
    "exact_optimum",
    "family_derivation",
    "monte_carlo",
    "monte_carlo_curve",
    "optimum",
    "reference_fraction",
    "reference_threshold",
    "sample_weights",
    "stationary_condition",
]

#: Families with a closed-form optimum (solved exactly by sympy).
CLOSED_FORM = ("laplace", "uniform")


def _family(family: Any, beta: Any) -> Family:
    """Validate ``family`` and ``beta``; return the numeric family object."""
    if not isinstance(family, str):
        raise TypeError(f"family: expected a string, got {type(family).__name__}")
    check_choice(family, "family", FAMILIES)
    if family == "gennorm":
        if beta is None:
            raise ValueError("beta: the generalized-normal family needs a shape beta > 0")
        fam = Family(family, check_real(beta, "beta", low=0.0, open_low=True))
        try:
            fam.second_moment  # noqa: B018 - E v^2 = Gamma(3/beta)/Gamma(1/beta) must be a double
        except OverflowError:
            raise ValueError(
                f"beta: {fam.beta} is too heavy-tailed for double precision "
                "(E w^2 = alpha^2 Gamma(3/beta)/Gamma(1/beta) overflows; beta >= 0.02 is supported)"
            ) from None
        return fam
    if beta is not None:
        raise ValueError(f"beta: only used with family='gennorm', got beta={beta!r} for {family!r}")
    return Family(family)


# --------------------------------------------------------------------------------------------------
# Symbolic API


def family_derivation(family: str) -> tuple[Step, ...]:
    """The derivation specialised to one family (density, tails, G(t), condition, solution).

    Every step is an exact sympy object; for "laplace" and "uniform" it ends with the closed-form
    optimum. For "gennorm" the shape β stays symbolic and the incomplete-gamma tails are verified
    by sympy (q' = −f, M' = −t f, limits).
    """
    _family(family, 1.0 if family == "gennorm" else None)
    return _derivation.family_derivation(family)


def stationary_condition(family: str, beta: Any = None) -> sp.Eq:
    """The self-consistency E[v | v > t] = 2t as a sympy ``Eq`` in ``tau = t / scale``.

    For "gennorm", ``beta=None`` keeps the shape symbolic; a number substitutes it (as an exact
    rational when it is one, e.g. ``beta=2`` gives the Gaussian condition with α = σ√2).
    """
    if family == "gennorm" and beta is None:
        return _derivation.stationary_condition(family)
    fam = _family(family, beta)
    cond = _derivation.stationary_condition(family)
    if fam.beta is not None:
        cond = cond.subs(_derivation.beta, sp.nsimplify(fam.beta))
    return cond


def exact_optimum(family: str) -> ExactOptimum:
    """Exact (sympy) optimum of a closed-form family: "laplace" or "uniform".

    Returns
    -------
    ExactOptimum
        ``fraction`` (k*/n), ``threshold`` (t*/scale), ``threshold_std`` (t*/sd(w)), ``entropy``
        (bits), ``best_cosine``, ``median_cosine`` (k = n/2), ``sign_cosine`` — all exact, e.g.
        ``exact_optimum("laplace").fraction == sympy.exp(-1)``.

    Raises
    ------
    ValueError
        For an unknown family, or one without a closed form ("gaussian", "gennorm").
    """
    _family(family, 1.0 if family == "gennorm" else None)
    return _derivation.exact_optimum(family)


def reference_threshold(family: str, beta: Any = None, digits: int = 30) -> sp.Float:
    """t*/scale solved with mpmath at ``digits`` significant digits (independent of the float solver)."""
    fam = _family(family, beta)
    digits = check_int(digits, "digits", minimum=16, maximum=200)
    return _derivation.reference_threshold(family, fam.beta, digits)


def reference_fraction(family: str, beta: Any = None, digits: int = 30) -> sp.Float:
    """k*/n at ``digits`` significant digits (mpmath; see :func:`reference_threshold`)."""
    fam = _family(family, beta)
    digits = check_int(digits, "digits", minimum=16, maximum=200)
    return _derivation.reference_fraction(family, fam.beta, digits)


# --------------------------------------------------------------------------------------------------
# Numeric API


@dataclass(frozen=True)
class Optimum:
    """The continuous-limit optimum of one family (floats).

    Attributes
    ----------
    family : str
    beta : float or None
        Generalized-normal shape (None for the other families).
    fraction : float
        k*/n, the optimal fraction of ones.
    threshold : float
        t* in units of the family's scale (``scale``: s, sigma, a or alpha).
    threshold_std : float
        t* in units of the standard deviation of w.
    entropy : float
        H(k*/n) in bits: the bit entropy of the optimal code.
    best_cosine : float
        Limiting cos(|w|, b*) at the optimum.
    median_cosine : float
        Limiting cos(|w|, b) of the median split k = n/2.
    sign_cosine : float
        cos(w, sign(w)) = E|w| / sqrt(E w²).
    scale : str
        Name of the scale parameter ``threshold`` is measured in.
    method : str
        "closed form" (sympy, evaluated to 30 digits) or "numeric" (Brent on double precision).
    """

    family: str
    beta: float | None
    fraction: float
    threshold: float
    threshold_std: float
    entropy: float
    best_cosine: float
    median_cosine: float
    sign_cosine: float
    scale: str
    method: str

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for records and tables)."""
        return asdict(self)


def optimum(family: str, beta: Any = None, *, method: str = "auto") -> Optimum:
    r"""Continuous-limit optimum of the {0, 1} alignment for weights of a given family.

    Parameters
    ----------
    family : {"laplace", "gaussian", "uniform", "gennorm"}
    beta : float > 0, only for "gennorm"
        Shape of the generalized normal, density ∝ exp(−|w/α|^β): β = 1 is Laplace, β = 2 Gaussian
        (α = σ√2), β → ∞ tends to uniform on (−α, α); β < 1 has heavier-than-exponential tails.
        Supported: β ≥ 0.02 (below, E w² overflows double precision) up to β ~ 1e12.
    method : {"auto", "numeric"}
        "auto" evaluates the exact sympy solution for the closed-form families (laplace, uniform)
        and solves numerically otherwise; "numeric" always uses the double-precision solver
        (root of E[v | v > τ] = 2τ by Brent's method, ~1e-14 accurate).

    Returns
    -------
    Optimum
    """
    fam = _family(family, beta)
    check_choice(method, "method", ("auto", "numeric"))
    sign_cosine = fam.mean / math.sqrt(fam.second_moment)
    if method == "auto" and family in CLOSED_FORM:
        ex = exact_optimum(family)

        def val(expr: sp.Expr) -> float:
            return float(sp.N(expr, 30))

        return Optimum(
            family=family,
            beta=None,
            fraction=val(ex.fraction),
            threshold=val(ex.threshold),
            threshold_std=val(ex.threshold_std),
            entropy=val(ex.entropy),
            best_cosine=val(ex.best_cosine),
            median_cosine=val(ex.median_cosine),
            sign_cosine=val(ex.sign_cosine),
            scale=SCALE_NAMES[family],
            method="closed form",
        )
    tau = solve_threshold(fam)
    fraction = float(fam.tail_prob(tau))
    return Optimum(
        family=family,
        beta=fam.beta,
        fraction=fraction,
        threshold=tau,
        threshold_std=tau / math.sqrt(fam.second_moment),
        entropy=float(binary_entropy(fraction)),
        best_cosine=float(fam.tail_moment(tau) / math.sqrt(fraction * fam.second_moment)),
        median_cosine=float(fam.cosine_at(0.5)),
        sign_cosine=sign_cosine,
        scale=SCALE_NAMES[family],
        method="numeric",
    )


def _fractions(fractions: Any) -> np.ndarray:
    arr = np.asarray(as_array(fractions, "fractions", ndim=(0, 1)), dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0.0) or np.any(arr > 1.0):
        raise ValueError("fractions: every fraction k/n must lie in (0, 1]")
    return arr


def cosine_curve(family: str, fractions: Any, beta: Any = None) -> np.ndarray:
    r"""Limiting best cosine cos(|w|, b) of codes with a fixed fraction k/n of ones.

    .. math:: C(p) = \frac{E[v\,\mathbf 1\{v > t_p\}]}{\sqrt{p\,E v^2}}, \quad q(t_p) = p,

    e.g. Laplace: C(p) = √p (1 − ln p)/√2; uniform: C(p) = √3 √p (2 − p)/2. At p = 1 it is the
    sign-code cosine E|w|/√(E w²).

    Parameters
    ----------
    family, beta
        As in :func:`optimum`.
    fractions : float or 1-D array of floats in (0, 1]

    Returns
    -------
    float64 array of the shape of ``fractions``
    """
    fam = _family(family, beta)
    return fam.cosine_at(_fractions(fractions))


def sample_weights(
    family: str, shape: int | Sequence[int], seed: Any, beta: Any = None
) -> np.ndarray:
    """Draw i.i.d. weights of a family with unit scale (s = σ = a = α = 1).

    ``seed`` is an int or a ``numpy.random.Generator``. Generalized normal: |w| = G^{1/β} with
    G ~ Gamma(1/β, 1) and an independent fair sign.
    """
    fam = _family(family, beta)
    if isinstance(shape, int | np.integer):
        shape = (shape,)
    shape = tuple(check_int(s, "shape", minimum=1) for s in shape)
    return fam.sample(make_rng(seed), shape)


# --------------------------------------------------------------------------------------------------
# Monte Carlo


@dataclass(frozen=True)
class Estimate:
    """A Monte-Carlo mean with its standard error and a two-sided normal confidence interval."""

    mean: float
    stderr: float
    low: float
    high: float
    confidence: float

    def contains(self, value: float) -> bool:
        """True when ``value`` lies in [low, high]."""
        return self.low <= float(value) <= self.high

    @classmethod
    def from_samples(cls, x: np.ndarray, confidence: float) -> Estimate:
        """Mean of ``x`` ± z·sd/√len (z the two-sided normal quantile of ``confidence``)."""
        x = np.asarray(x, dtype=np.float64)
        mean = float(np.mean(x))
        se = float(np.std(x, ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.inf
        z = float(special.ndtri(0.5 + 0.5 * confidence))
        return cls(mean, se, mean - z * se, mean + z * se, confidence)


#: The Optimum fields that monte_carlo estimates.
MC_FIELDS = ("fraction", "threshold", "entropy", "best_cosine", "median_cosine", "sign_cosine")


@dataclass(frozen=True)
class MonteCarlo:
    """Monte-Carlo estimates (one row of w per repetition) of the quantities of :class:`Optimum`.

    Each field of ``MC_FIELDS`` is an :class:`Estimate` over ``reps`` independent rows of length n,
    each solved exactly with :func:`bnnlab.theory.angle.align`:

    - fraction: k*/n; threshold: the smallest marked magnitude |w|_(k*) (scale 1);
    - entropy: the bit entropy of the row's optimal code, H(k*/n);
    - best_cosine: cos(|w|, b*); median_cosine: cos(|w|, b) with ⌊n/2⌋ ones;
    - sign_cosine: cos(w, sign w).

    The finite-n bias of every estimate is O(1/n) for light tails (measured n·bias: |c| ≲ 6, the
    largest for the threshold; see analysis/01_angle_alignment.py) while the interval half-width is
    O(1/√(n·reps)); choose n ≫ reps so that the bias sits well inside the interval. Heavy tails
    (generalized normal with small β) converge more slowly: use larger n.
    """

    family: str
    beta: float | None
    n: int
    reps: int
    seed: int | None
    fraction: Estimate
    threshold: Estimate
    entropy: Estimate
    best_cosine: Estimate
    median_cosine: Estimate
    sign_cosine: Estimate

    def agreement(self, reference: Optimum) -> dict[str, bool]:
        """For each estimated field: does its interval contain the analytic value?"""
        return {f: getattr(self, f).contains(getattr(reference, f)) for f in MC_FIELDS}


def _mc_setup(
    family: str, n: Any, reps: Any, beta: Any, confidence: Any
) -> tuple[Family, int, int, float]:
    fam = _family(family, beta)
    n = check_int(n, "n", minimum=2)
    reps = check_int(reps, "reps", minimum=2)
    confidence = check_real(
        confidence, "confidence", low=0.0, high=1.0, open_low=True, open_high=True
    )
    return fam, n, reps, confidence


def monte_carlo(
    family: str, n: int, reps: int, seed: Any, beta: Any = None, *, confidence: float = 0.999
) -> MonteCarlo:
    """Sample ``reps`` weight vectors of length ``n`` and solve each exactly (finite n).

    Parameters
    ----------
    family, beta
        As in :func:`optimum`.
    n : int >= 2
        Length of each weight vector.
    reps : int >= 2
        Number of independent vectors (rows), solved row-wise in one vectorised call.
    seed : int or numpy.random.Generator
        Explicit randomness (see :func:`sample_weights`).
    confidence : float in (0, 1)
        Level of the two-sided normal intervals (default 99.9 %).

    Returns
    -------
    MonteCarlo
    """
    from bnnlab.theory.angle import align

    fam, n, reps, confidence = _mc_setup(family, n, reps, beta, confidence)
    w = fam.sample(make_rng(seed), (reps, n))
    best = align(w, code="01")
    k = np.asarray(best.k, dtype=np.float64)
    mags = np.abs(w)
    thresh = np.min(np.where(best.code == 1, mags, np.inf), axis=1)

    def est(x: np.ndarray) -> Estimate:
        return Estimate.from_samples(x, confidence)

    return MonteCarlo(
        family=family,
        beta=fam.beta,
        n=n,
        reps=reps,
        seed=int(seed) if isinstance(seed, int | np.integer) else None,
        fraction=est(k / n),
        threshold=est(thresh),
        entropy=est(bit_entropy(best.code, axis=1, encoding="01")),
        best_cosine=est(best.cosine),
        median_cosine=est(align(w, code="01", k=0.5).cosine),
        sign_cosine=est(align(w, code="pm1").cosine),
    )


def monte_carlo_curve(
    family: str,
    fractions: Any,
    n: int,
    reps: int,
    seed: Any,
    beta: Any = None,
    *,
    confidence: float = 0.999,
) -> list[Estimate]:
    """Monte-Carlo cos(|w|, b) of the best code with ⌊p·n⌋ ones, for each fraction p.

    One (reps × n) sample, solved for every k at once by
    :func:`bnnlab.theory.angle.cosine_by_k` (sort + prefix sums); compare with :func:`cosine_curve`.
    """
    from bnnlab.theory.angle import cosine_by_k

    fam, n, reps, confidence = _mc_setup(family, n, reps, beta, confidence)
    fr = np.atleast_1d(_fractions(fractions))
    ks = np.maximum(1, np.floor(np.round(fr * n, 9)).astype(np.int64))
    curves = cosine_by_k(fam.sample(make_rng(seed), (reps, n)))
    return [Estimate.from_samples(curves[:, kk - 1], confidence) for kk in ks]
