"""Symbolic (sympy) derivation of the continuous limit of the {0, 1} angle alignment.

The public entry points live in :mod:`bnnlab.theory.distributions`; this module holds the sympy work:
the generic derivation of the self-consistent threshold, the per-family tail integrals, and the
closed-form optima where they exist. Everything returned here is an exact sympy object; floats enter
only in :func:`reference_threshold`, which solves the stationary condition with mpmath at a chosen
working precision (an independent check of the double-precision solvers in ``_families``).

Reference: M. Lin et al., "SiMaN: Sign-to-Magnitude Network Binarization", IEEE TPAMI 45(5), 2023,
arXiv:2102.07981 (REFERENCES.md §1.2).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import sympy as sp

# Symbols shared by every derivation. ``t`` is the threshold on the magnitudes v = |w|, ``tau`` the
# threshold in units of the family's scale parameter.
t = sp.Symbol("t", positive=True)
v = sp.Symbol("v", positive=True)
tau = sp.Symbol("tau", positive=True)
k = sp.Symbol("k", positive=True, integer=True)
n = sp.Symbol("n", positive=True, integer=True)
m2 = sp.Symbol("m_2", positive=True)  # E[v^2]
p = sp.Symbol("p", positive=True)  # a fraction of ones k/n
beta = sp.Symbol("beta", positive=True)

f = sp.Function("f")  # density of v = |w| on [0, oo)
q = sp.Function("q")  # tail probability P(v > t) = k/n
M = sp.Function("M")  # tail first moment E[v 1{v > t}] = lim S_k / n
C = sp.Function("C")  # the limiting cosine
G = sp.Function("G")  # M(t) - 2 t q(t): carries the sign of C'(t)

_Q_INT = sp.Integral(f(v), (v, t, sp.oo))
_M_INT = sp.Integral(v * f(v), (v, t, sp.oo))
_SHOW = {_Q_INT: q(t), _M_INT: M(t)}


@dataclass(frozen=True)
class Step:
    """One step of a derivation: a title, a sympy expression (often an ``Eq``) and a comment."""

    title: str
    expr: sp.Basic
    note: str = ""

    def _repr_latex_(self) -> str:  # pragma: no cover - notebook display
        return f"$\\text{{{self.title}:}}\\quad {sp.latex(self.expr)}$"


def binary_entropy(x: sp.Expr) -> sp.Expr:
    r"""Exact Shannon entropy in bits of a Bernoulli(x): :math:`-(x\log x + (1-x)\log(1-x))/\log 2`."""
    x = sp.sympify(x)
    return sp.simplify(-(x * sp.log(x) + (1 - x) * sp.log(1 - x)) / sp.log(2))


@functools.cache
def derivation() -> tuple[Step, ...]:
    r"""The generic derivation of the optimal threshold, step by step (each step computed by sympy).

    For v = |w| i.i.d. with density f on [0, ∞), the best {0, 1} code with k ones marks the k
    largest v, so cos = S_k / (√k ‖v‖). With k/n → q(t) = P(v > t), S_k/n → M(t) = E[v 1{v > t}]
    and ‖v‖²/n → m₂ = E[v²]:

    .. math:: C(t) = \frac{M(t)}{\sqrt{q(t)\, m_2}}, \qquad
              C'(t) = \frac{f(t)\,(M(t) - 2 t q(t))}{2\sqrt{m_2}\, q(t)^{3/2}},

    so the stationary points satisfy t = ½ E[v | v > t]. The sign of C' is the sign of
    G(t) = M(t) − 2 t q(t), with G' = t f − 2q and G'' = f (3 + η), η = t f'/f the elasticity of f:
    when η is non-increasing and eventually below −3 (true for every symmetric log-concave w with
    unbounded support, since then (log f)' ≤ 0 is non-increasing and eventually ≤ −c < 0, and for
    the whole generalized-normal family, η = −β (t/α)^β), G is convex on (0, t₀) and concave on
    (t₀, ∞) with 3 + η(t₀) = 0. G' rises from G'(0) = −2 and then falls towards G'(∞) = 0, so it is
    positive on (t₀, ∞) and has one zero t₁ < t₀; G falls then rises towards G(∞) = 0, so G < 0 on
    (t₁, ∞), and with G(0) = E v > 0 it has exactly one zero t* < t₁, where C' changes sign from
    + to −: t* is the unique stationary point and the global maximum of C. (Uniform w, with bounded
    support, is checked directly: G = (a − t)(a − 3t)/(2a).)

    Returns
    -------
    tuple of Step
        In order: the discrete objective, the tail integrals, the limiting objective, its derivative,
        the factored derivative, the stationary condition, the self-consistency t = ½ E[v | v > t],
        the cosine at the optimum, and the uniqueness argument (G, G', G'').
    """
    Sk, norm_v = sp.Symbol("S_k", positive=True), sp.Symbol(r"\|v\|", positive=True)
    cos_wb = sp.Function(r"\cos")(sp.Symbol("w"), sp.Symbol("b_k"))
    steps = [
        Step(
            "discrete objective",
            sp.Eq(cos_wb, Sk / (sp.sqrt(k) * norm_v)),
            "best b with k ones marks the k largest v; S_k is their sum",
        ),
        Step("tail probability (k/n in the limit)", sp.Eq(q(t), _Q_INT)),
        Step("tail first moment (S_k/n in the limit)", sp.Eq(M(t), _M_INT)),
    ]
    objective = _M_INT / sp.sqrt(_Q_INT * m2)
    steps.append(
        Step(
            "continuous objective (divide S_k, k and ||v||^2 by n)",
            sp.Eq(C(t), objective.xreplace(_SHOW)),
            "m_2 = E[v^2]",
        )
    )
    derivative = sp.diff(objective, t)  # Leibniz rule on the variable lower limits
    steps.append(
        Step("derivative (Leibniz rule)", sp.Eq(sp.Derivative(C(t), t), derivative.xreplace(_SHOW)))
    )
    factored = sp.factor(sp.together(derivative))
    steps.append(
        Step("factored derivative", sp.Eq(sp.Derivative(C(t), t), factored.xreplace(_SHOW)))
    )

    # Stationary condition: solve C'(t) = 0 for M with q, f > 0 treated as symbols.
    Ms, Qs, Fs = sp.symbols("M_s q_s f_s", positive=True)
    plain = derivative.xreplace({_Q_INT: Qs, _M_INT: Ms}).subs(f(t), Fs)
    (m_star,) = sp.solve(sp.Eq(plain, 0), Ms)
    steps.append(
        Step(
            "stationary condition C'(t) = 0 (f(t) > 0, q(t) > 0)",
            sp.Eq(M(t), m_star.subs(Qs, q(t))),
        )
    )
    (t_star,) = sp.solve(sp.Eq(Ms, m_star), t)
    cond_mean = sp.Symbol(r"E[v \mid v > t]", positive=True)
    steps.append(
        Step(
            "self-consistency",
            sp.Eq(t, t_star.subs({Ms: M(t), Qs: q(t)})),
            f"i.e. t = {sp.Rational(1, 2)} * E[v | v > t], since E[v | v > t] = M(t)/q(t)",
        )
    )
    steps.append(Step("self-consistency (conditional mean)", sp.Eq(t, cond_mean / 2)))
    at_opt = sp.simplify((Ms / sp.sqrt(Qs * m2)).subs(Ms, m_star))
    steps.append(
        Step(
            "cosine at the optimum (substitute M = 2 t q)",
            sp.Eq(C(t), at_opt.subs(Qs, q(t))),
            "best cosine = 2 t* sqrt(k*/n) / sqrt(E v^2)",
        )
    )
    g = _M_INT - 2 * t * _Q_INT
    g1 = sp.diff(g, t)
    g2 = sp.expand(sp.diff(g1, t).doit())
    steps += [
        Step(
            "sign of C'(t) is the sign of G(t)",
            sp.Eq(G(t), g.xreplace(_SHOW)),
            "C'(t) = f(t) G(t) / (2 sqrt(m_2) q^(3/2))",
        ),
        Step("G'(t)", sp.Eq(sp.Derivative(G(t), t), sp.expand(g1).xreplace(_SHOW))),
        Step(
            "G''(t)",
            sp.Eq(sp.Derivative(G(t), (t, 2)), g2),
            "= f(t) (3 + eta(t)), eta = t f'(t)/f(t); eta non-increasing and eventually < -3 => "
            "G convex then concave; with G(0) = E v > 0, G'(0) = -2, G'(oo) = 0 and G(oo) = 0 "
            "the root of G is unique and C changes from increasing to decreasing there",
        ),
    ]
    return tuple(steps)


# --------------------------------------------------------------------------------------------------
# Families of w (densities of v = |w| on [0, upper))


@dataclass(frozen=True)
class SymbolicFamily:
    """The sympy description of a family: density of v = |w|, its tails and moments."""

    name: str
    scale: sp.Symbol
    density: sp.Expr  # f(v) on [0, upper)
    upper: sp.Expr  # end of the support of v
    tail_prob: sp.Expr  # q(t)
    tail_moment: sp.Expr  # M(t)
    second_moment: sp.Expr  # E v^2
    checks: dict[str, bool] = field(default_factory=dict)  # symbolic verifications that held

    @property
    def mean(self) -> sp.Expr:
        """E v = M(0)."""
        return sp.simplify(self.tail_moment.subs(t, 0))

    def conditional_mean(self) -> sp.Expr:
        """E[v | v > t] = M(t) / q(t)."""
        return sp.simplify(self.tail_moment / self.tail_prob)

    def elasticity(self) -> sp.Expr:
        """eta(t) = t f'(t) / f(t); non-increasing and eventually < -3 gives a unique maximiser."""
        fv = self.density.subs(v, t)
        return sp.simplify(t * sp.diff(fv, t) / fv)


def _integrated(name: str, scale: sp.Symbol, density: sp.Expr, upper: sp.Expr) -> SymbolicFamily:
    tail_prob = sp.simplify(sp.integrate(density, (v, t, upper)))
    tail_moment = sp.simplify(sp.integrate(v * density, (v, t, upper)))
    second = sp.simplify(sp.integrate(v**2 * density, (v, 0, upper)))
    total = sp.simplify(sp.integrate(density, (v, 0, upper)))
    return SymbolicFamily(
        name, scale, density, upper, tail_prob, tail_moment, second, {"normalised": total == 1}
    )


@functools.cache
def symbolic_family(name: str) -> SymbolicFamily:
    """Sympy description of one family ("laplace", "gaussian", "uniform", "gennorm").

    - laplace: w ~ Laplace(0, s), v ~ Exponential(scale s), f(v) = e^{-v/s}/s;
    - gaussian: w ~ N(0, σ²), v half-normal, f(v) = √(2/π)/σ · e^{-v²/(2σ²)};
    - uniform: w ~ U(−a, a), v ~ U(0, a);
    - gennorm: w with density ∝ exp(−|w/α|^β), f(v) = β/(α Γ(1/β)) · exp(−(v/α)^β). The tails are
      q = Γ(1/β, (t/α)^β)/Γ(1/β) and M = α Γ(2/β, (t/α)^β)/Γ(1/β) (upper incomplete gamma); sympy
      verifies them by differentiation (q' = −f, M' = −t f) and their limits (→ 0 at ∞).
    """
    if name == "laplace":
        s = sp.Symbol("s", positive=True)
        return _integrated(name, s, sp.exp(-v / s) / s, sp.oo)
    if name == "gaussian":
        sigma = sp.Symbol("sigma", positive=True)
        dens = sp.sqrt(2 / sp.pi) / sigma * sp.exp(-(v**2) / (2 * sigma**2))
        return _integrated(name, sigma, dens, sp.oo)
    if name == "uniform":
        a = sp.Symbol("a", positive=True)
        return _integrated(name, a, 1 / a, a)
    if name == "gennorm":
        alpha = sp.Symbol("alpha", positive=True)
        dens = beta / (alpha * sp.gamma(1 / beta)) * sp.exp(-((v / alpha) ** beta))
        x = (t / alpha) ** beta
        tail_prob = sp.uppergamma(1 / beta, x) / sp.gamma(1 / beta)
        tail_moment = alpha * sp.uppergamma(2 / beta, x) / sp.gamma(1 / beta)
        second = alpha**2 * sp.gamma(3 / beta) / sp.gamma(1 / beta)
        ft = dens.subs(v, t)
        checks = {
            "q' = -f": sp.simplify(sp.diff(tail_prob, t) + ft) == 0,
            "M' = -t f": sp.simplify(sp.diff(tail_moment, t) + t * ft) == 0,
            "q(0) = 1": sp.simplify(tail_prob.subs(t, 0)) == 1,
            # (t/alpha)^beta -> oo as t -> oo (beta > 0) and Gamma(s, oo) = 0:
            "x(oo) = oo": sp.limit(x, t, sp.oo) is sp.oo,
            "q(oo) = 0": tail_prob.subs(x, sp.oo) == 0,
            "M(oo) = 0": tail_moment.subs(x, sp.oo) == 0,
        }
        return SymbolicFamily(name, alpha, dens, sp.oo, tail_prob, tail_moment, second, checks)
    raise ValueError(
        f"family: expected one of 'laplace', 'gaussian', 'uniform', 'gennorm', got {name!r}"
    )


def stationary_condition(name: str) -> sp.Eq:
    """The self-consistency E[v | v > t] = 2t of a family, in units of its scale (t = tau * scale).

    For "gennorm" the shape ``beta`` stays a symbol.
    """
    fam = symbolic_family(name)
    lhs = fam.conditional_mean().subs(t, tau * fam.scale) / fam.scale
    return sp.Eq(sp.simplify(lhs), 2 * tau)


@dataclass(frozen=True)
class ExactOptimum:
    """Closed-form optimum of a family (exact sympy expressions, scale-free).

    Attributes
    ----------
    family : str
    condition : sympy.Eq
        The self-consistency E[v | v > t] = 2t in units of the scale (variable ``tau``).
    fraction : sympy.Expr
        k*/n = q(t*).
    threshold : sympy.Expr
        t* in units of the family's scale (s, a, ...).
    threshold_std : sympy.Expr
        t* in units of the standard deviation of w, sqrt(E w²).
    entropy : sympy.Expr
        H(k*/n) in bits.
    best_cosine : sympy.Expr
        The limiting cos(|w|, b*) at the optimum.
    median_cosine : sympy.Expr
        The limiting cos(|w|, b) at k = n/2 (the median split of the SiMaN code).
    sign_cosine : sympy.Expr
        cos(w, sign(w)) = E|w| / sqrt(E w²) (equal to the {0,1} cosine at k = n).
    """

    family: str
    condition: sp.Eq
    fraction: sp.Expr
    threshold: sp.Expr
    threshold_std: sp.Expr
    entropy: sp.Expr
    best_cosine: sp.Expr
    median_cosine: sp.Expr
    sign_cosine: sp.Expr


_CLOSED_FORM = ("laplace", "uniform")


@functools.cache
def exact_optimum(name: str) -> ExactOptimum:
    """Solve the self-consistency exactly with sympy (laplace and uniform have closed forms)."""
    if name not in _CLOSED_FORM:
        symbolic_family(name)  # raises on an unknown name
        raise ValueError(
            f"family: {name!r} has no closed-form optimum (its stationary condition is "
            "transcendental); use optimum(...) for the numeric solution or "
            "reference_threshold(...) for a high-precision one"
        )
    fam = symbolic_family(name)
    s = fam.scale
    cond = sp.Eq(fam.conditional_mean(), 2 * t)
    roots = [r for r in sp.solve(cond, t) if bool(sp.simplify(r - fam.upper) < 0)]
    if len(roots) != 1:  # pragma: no cover - guards the derivation, not user input
        raise RuntimeError(f"{name}: expected one interior root, got {roots}")
    t_star = roots[0]

    def cosine(at: sp.Expr) -> sp.Expr:
        val = fam.tail_moment.subs(t, at) / sp.sqrt(fam.tail_prob.subs(t, at) * fam.second_moment)
        return sp.radsimp(sp.simplify(val))

    (t_med,) = [r for r in sp.solve(sp.Eq(fam.tail_prob, sp.Rational(1, 2)), t)]
    fraction = sp.simplify(fam.tail_prob.subs(t, t_star))
    out = ExactOptimum(
        family=name,
        condition=stationary_condition(name),
        fraction=fraction,
        threshold=sp.simplify(t_star / s),
        threshold_std=sp.radsimp(sp.simplify(t_star / sp.sqrt(fam.second_moment))),
        entropy=binary_entropy(fraction),
        best_cosine=cosine(t_star),
        median_cosine=cosine(t_med),
        sign_cosine=sp.radsimp(sp.simplify(fam.mean / sp.sqrt(fam.second_moment))),
    )
    for fld in ("fraction", "threshold", "threshold_std", "entropy", "best_cosine"):
        if s in getattr(out, fld).free_symbols:  # pragma: no cover - scale invariance check
            raise RuntimeError(f"{name}: {fld} depends on the scale")
    return out


def family_derivation(name: str) -> tuple[Step, ...]:
    """The derivation specialised to one family: density, tails, condition and (closed) solution."""
    fam = symbolic_family(name)
    steps = [
        Step("density of v = |w|", sp.Eq(f(v), fam.density), f"support [0, {fam.upper})"),
        Step("tail probability", sp.Eq(q(t), fam.tail_prob)),
        Step("tail first moment", sp.Eq(M(t), fam.tail_moment)),
        Step("second moment", sp.Eq(m2, fam.second_moment)),
        Step("conditional mean", sp.Eq(sp.Symbol(r"E[v \mid v > t]"), fam.conditional_mean())),
        Step(
            "elasticity eta = t f'/f (non-increasing => unique maximum)",
            sp.Eq(sp.Function("eta")(t), fam.elasticity()),
        ),
        Step(
            "G(t) = M(t) - 2 t q(t) (carries the sign of C'(t))",
            sp.Eq(G(t), sp.factor(sp.simplify(fam.tail_moment - 2 * t * fam.tail_prob))),
        ),
        Step("self-consistency in units of the scale", stationary_condition(name)),
    ]
    if fam.checks:
        steps.append(
            Step(
                "symbolic checks",
                sp.Tuple(*[sp.Symbol(k_) for k_, ok in fam.checks.items() if ok]),
                "all hold" if all(fam.checks.values()) else f"FAILED: {fam.checks}",
            )
        )
    if name in _CLOSED_FORM:
        ex = exact_optimum(name)
        steps += [
            Step("optimal threshold / scale", sp.Eq(sp.Symbol("t*/scale"), ex.threshold)),
            Step("optimal fraction of ones", sp.Eq(sp.Symbol("k*/n"), ex.fraction)),
            Step("bit entropy of the optimal code", sp.Eq(sp.Symbol("H(k*/n)"), ex.entropy)),
            Step("best cosine", sp.Eq(sp.Symbol("cos*"), ex.best_cosine)),
            Step("cosine at k = n/2", sp.Eq(sp.Symbol("cos_{1/2}"), ex.median_cosine)),
            Step("sign-code cosine", sp.Eq(sp.Symbol("cos_sign"), ex.sign_cosine)),
        ]
    return tuple(steps)


def reference_threshold(name: str, beta_value: float | None = None, digits: int = 30) -> sp.Float:
    """Solve the stationary condition with mpmath at ``digits`` significant digits (tau = t*/scale).

    An independent high-precision check of the double-precision solver: the sympy condition is
    lambdified to mpmath (``mpmath.gammainc``/``erfc``) and solved with ``mpmath.findroot``.
    """
    import mpmath

    cond = stationary_condition(name)
    expr = cond.lhs - cond.rhs
    if name == "gennorm":
        expr = expr.subs(beta, sp.nsimplify(beta_value))
    fn = sp.lambdify(tau, expr, modules="mpmath")
    fam = symbolic_family(name)
    mean = fam.mean / fam.scale
    if name == "gennorm":
        mean = mean.subs(beta, sp.nsimplify(beta_value))
    with mpmath.workdps(digits + 10):
        lo = mpmath.mpf(sp.N(mean / 2, digits + 10))  # E[v | v > t] >= E v, so lhs - 2 tau >= 0
        hi = 2 * lo
        while fn(hi) > 0:
            hi *= 2
        root = mpmath.findroot(fn, (lo, hi), solver="anderson")
        return sp.Float(root, digits)


def reference_fraction(name: str, beta_value: float | None = None, digits: int = 30) -> sp.Float:
    """k*/n = q(t*) at ``digits`` significant digits (see :func:`reference_threshold`)."""
    fam = symbolic_family(name)
    tau_star = reference_threshold(name, beta_value, digits)
    expr = fam.tail_prob.subs(t, tau * fam.scale)
    if name == "gennorm":
        expr = expr.subs(beta, sp.nsimplify(beta_value))
    return sp.Float(sp.N(expr.subs(tau, tau_star), digits + 5), digits)
