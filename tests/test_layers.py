"""The layer protocol: certificate factors, compositions, and registering a constraint or an integrator."""

import warnings

import numpy as np
import pytest
import torch
from kinds import KINDS, fit_kind
from sklearn.exceptions import ConvergenceWarning

from skjacnet import InvertibleJacobianRegressor, JacobianClassifier, JacobianRegressor
from skjacnet._certificate import scaled_factors
from skjacnet._persist import from_state, to_state
from skjacnet.constraints import NAMES, REGISTRY, register
from skjacnet.constraints.layer import Composition, Factors, sign_product
from skjacnet.constraints.lipschitz import LipschitzConstraint, MaxMin
from skjacnet.constraints.ridge import RidgeJacobianNet
from skjacnet.integrate import INTEGRATORS, METHODS, Integrator
from skjacnet.integrate import register as register_integrator
from skjacnet.integrate.newton import newton_polish

D = torch.float64


@pytest.mark.parametrize("name", sorted(KINDS))
def test_the_networks_factors_are_the_certificate(name):
    """guarantee_ reads its bounds from the network's factors: they must say the same thing."""
    est, _, _ = fit_kind(name)
    f, cert = scaled_factors(est), est.guarantee_
    if cert["lipschitz_upper"] is not None:
        assert f.lipschitz == pytest.approx(cert["lipschitz_upper"], rel=1e-12)
    bound = cert["expansion_lower"] if cert["expansion_lower"] is not None else cert["jacobian_lower"]
    assert f.expansion == bound
    if "monotonic_cst" in cert:
        c = np.asarray(cert["monotonic_cst"], dtype=float)
        expected = np.where(c != 0, c, np.nan)[None, :].repeat(cert["n_targets"], 0)
        np.testing.assert_array_equal(f.signs, expected)
    if cert["property"] == "none" or cert["norm"].startswith("none"):
        assert f == Factors()


def test_sign_algebra_of_a_product():
    nan = np.nan
    A = np.array([[1.0, -1.0], [0.0, nan]])
    B = np.array([[1.0, 0.0], [-1.0, 1.0]])
    # row 0: (+)(+) + (-)(-) = +, (+)(0) + (-)(+) = -; row 1: 0 + unknown = unknown in both columns
    np.testing.assert_array_equal(sign_product(A, B), [[1.0, -1.0], [nan, nan]])
    mixed = np.array([[1.0, 1.0]])
    np.testing.assert_array_equal(sign_product(mixed, np.array([[1.0], [-1.0]])), [[nan]])
    assert sign_product(None, B) is None
    zero = np.zeros((1, 2))
    np.testing.assert_array_equal(sign_product(zero, np.full((2, 1), nan)), [[0.0]])


def _fitted_layers(cls, **params):
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, (150, 2))
    Y1 = np.c_[X[:, 0] + 0.5 * np.tanh(2 * X[:, 1]), X[:, 1] - 0.3 * np.sin(X[:, 0])]
    Y2 = np.c_[np.sinh(0.8 * X[:, 0]), X[:, 1] + 0.2 * X[:, 0] ** 3]
    kw = dict(max_iter=20, random_state=0, **params)
    return [cls(**kw).fit(X, Y).model_ for Y in (Y1, Y2)]


@pytest.fixture(scope="module")
def invertible_pair():
    return Composition(_fitted_layers(InvertibleJacobianRegressor))


@pytest.fixture(scope="module")
def lipschitz_pair():
    return Composition(_fitted_layers(JacobianRegressor, constraint="lipschitz", lipschitz_constant=1.5))


def _pairs(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, 2, generator=g, dtype=D) * 3
    near = a + torch.randn(n, 2, generator=g, dtype=D) * 1e-4
    far = torch.randn(n, 2, generator=g, dtype=D) * 3
    return torch.cat([a, a]), torch.cat([near, far])


def test_a_composition_has_the_exact_jacobian_of_what_it_computes(invertible_pair):
    x = torch.randn(7, 2, generator=torch.Generator().manual_seed(1), dtype=D) * 2
    auto = torch.autograd.functional.jacobian(lambda x: invertible_pair(x).sum(0), x).permute(1, 0, 2)
    with torch.no_grad():
        assert torch.allclose(invertible_pair.jacobian(x), auto, rtol=1e-10, atol=1e-12)


def test_a_composition_of_bijections_inverts_layer_by_layer(invertible_pair):
    comp = invertible_pair
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(2), dtype=D) * 2
    with torch.no_grad():
        y = comp(x)
        guess = comp.inverse(y, "auto")
        back, ok = newton_polish(comp, comp.jacobian, guess, y)
    assert ok and float((back - x).abs().max()) < 1e-10


def test_composed_bounds_multiply_and_hold(invertible_pair, lipschitz_pair):
    a, b = _pairs(2000)
    with torch.no_grad():
        for comp, kind in ((invertible_pair, "expansion"), (lipschitz_pair, "lipschitz")):
            ratio = (comp(a) - comp(b)).norm(dim=1) / (a - b).norm(dim=1)
            layers = [getattr(layer.factors(), kind) for layer in comp.layers]
            bound = getattr(comp.factors(), kind)
            assert bound == pytest.approx(np.prod(layers), rel=1e-14)
            if kind == "lipschitz":
                assert float(ratio.max()) <= bound * (1 + 1e-9)
            else:
                assert float(ratio.min()) >= bound * (1 - 1e-9)


def test_a_composition_persists_exactly_and_switches_integrators(invertible_pair):
    x = torch.randn(20, 2, generator=torch.Generator().manual_seed(3), dtype=D)
    loaded = from_state(to_state(invertible_pair))
    with torch.no_grad():
        assert torch.equal(loaded(x), invertible_pair(x))
        loaded.use_integrator("rk4", 1e-8, 1e-8)
        assert [it.method for it in loaded.integrators()] == ["rk4", "rk4"]
        # the mesh integrates an interpolant of g within the fit's tolerance; rk4 integrates g itself
        assert torch.allclose(loaded(x), invertible_pair(x), atol=1e-3)


def test_layers_must_chain():
    a, b = _fitted_layers(JacobianRegressor, constraint="lipschitz")
    three_to_two = fit_kind("lipschitz-nd")[0].model_
    with pytest.raises(ValueError, match="do not chain: 2 outputs feed 3 inputs"):
        Composition([a, three_to_two])
    assert Composition([a, b]).n_out == 2


class _HalfLipschitz(LipschitzConstraint):
    """A constraint written outside the package: Lipschitz with half the requested bound."""

    name = "half_lipschitz_test"

    def certify(self, spec, cert, factors):
        return {
            **super().certify(spec, cert, factors),
            "property": "k/2-Lipschitz",
            "lipschitz_upper": factors().lipschitz,
        }

    def build(self, spec, gen, signs):
        from dataclasses import replace

        return super().build(replace(spec, k_std=spec.k_std / 2), gen, signs)


class _Midpoint(Integrator):
    """An integrator written outside the package: the composite midpoint rule with 64 nodes."""

    name = "midpoint64_test"

    def integral(self, net, a, b, width, adaptive=False):
        t = (torch.arange(64, dtype=b.dtype, device=b.device) + 0.5) / 64
        return net.rate(t, a, b - a).mean(0)


@pytest.fixture
def registered():
    register(_HalfLipschitz)
    register_integrator("midpoint64_test", _Midpoint)
    yield
    del REGISTRY["half_lipschitz_test"], INTEGRATORS["midpoint64_test"]
    NAMES.discard("half_lipschitz_test")
    METHODS.discard("midpoint64_test")


def test_a_registered_constraint_and_integrator_need_no_other_change(registered):
    X = np.random.RandomState(0).uniform(-2, 2, (80, 2))
    y = 3 * X[:, 0] - X[:, 1]
    est = JacobianRegressor(constraint="half_lipschitz_test", lipschitz_constant=2.0, max_iter=20, random_state=0)
    est.fit(X, y)
    assert est.guarantee_["lipschitz_upper"] == pytest.approx(1.0, rel=1e-12)
    assert est.check_guarantee(X, random_state=0)["holds"]
    ode_like = JacobianRegressor(method="midpoint64_test", max_iter=5, random_state=0).fit(X, y)
    assert (
        ode_like.guarantee_["exact"] is False and ode_like.guarantee_["holds"] == "up to the midpoint64_test tolerance"
    )
    assert np.isfinite(ode_like.predict(X)).all()


def test_depth_is_refused_where_there_is_no_layer_to_compose():
    X = np.random.RandomState(0).uniform(-1, 1, (30, 4))
    with pytest.raises(ValueError, match="n_layers=2 composes guaranteed layers, which constraint='complex'"):
        JacobianRegressor(constraint="complex", n_layers=2).fit(X, X[:, :2])


def test_deep_unconstrained_model_is_conservative():
    """'none' with n_layers > 1: a stack of ridge layers, no path integral: no path dependence, no warning."""
    X = np.random.RandomState(0).uniform(-1, 1, (60, 3))
    Y = np.c_[np.sin(2 * X[:, 0]) * X[:, 1], X[:, 2] ** 2 - X[:, 0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "far from conservative" (max_iter's is a ConvergenceWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = JacobianRegressor(n_layers=3, max_iter=30, random_state=0).fit(X, Y)
    assert est.path_dependence_ == 0.0 and not hasattr(est.model_, "path_dependence")
    assert est.model_.jacobian_is_exact() and len(est.model_.layers) == 3


def test_a_warm_start_with_another_depth_rebuilds():
    X = np.random.RandomState(0).uniform(-1, 1, (40, 2))
    est = JacobianRegressor(constraint="lipschitz", warm_start=True, max_iter=3, random_state=0).fit(X, X.sum(1))
    with pytest.warns(UserWarning, match="n_layers changed since the previous fit"):
        est.set_params(n_layers=2).fit(X, X.sum(1))
    ridges = [layer for layer in est.model_.layers if isinstance(layer, RidgeJacobianNet)]
    assert isinstance(est.model_, Composition) and len(ridges) == 2  # with a MaxMin between them
    assert est.check_guarantee(X * 10, random_state=0)["holds"]


@pytest.mark.parametrize("width", [4, 5])
def test_maxmin_sorts_pairs_with_a_permutation_jacobian(width):
    """GroupSort-2: (max, min) of each pair, an odd last coordinate kept; the Jacobian is autograd's, a
    permutation at every point, so the layer is 1-Lipschitz and preserves gradient norms."""
    z = torch.randn(50, width, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    layer = MaxMin(width)
    out = layer(z)
    p = width // 2
    pairs = z[:, : 2 * p].reshape(50, p, 2)
    assert torch.equal(out[:, :p], pairs.max(-1).values) and torch.equal(out[:, p : 2 * p], pairs.min(-1).values)
    assert torch.equal(out[:, 2 * p :], z[:, 2 * p :])
    J = layer.jacobian(z)
    auto = torch.func.vmap(torch.func.jacrev(lambda v: layer(v[None])[0]))(z)
    assert torch.equal(J, auto)
    assert torch.equal(J.sum(1), torch.ones(50, width, dtype=J.dtype)) and torch.equal(J.sum(2), J.sum(1))
    assert layer.factors().lipschitz == 1.0 and layer.factors().expansion is None
    assert from_state(to_state(layer)).n_in == width


def test_deep_lipschitz_stacks_sort_between_ridge_layers():
    X = np.random.RandomState(0).uniform(-1, 1, (60, 3))
    est = JacobianRegressor(constraint="lipschitz", n_layers=3, max_iter=2, random_state=0).fit(X, X[:, 0])
    kinds = [type(layer).__name__ for layer in est.model_.layers]
    assert kinds == ["LipschitzRidges", "MaxMin", "LipschitzRidges", "MaxMin", "LipschitzRidges"]
    assert est.model_.layers[0].V().shape[0] == 64  # SORTED_MIN_WIDTH ridges
    mono = JacobianRegressor(monotonic_cst=[1, 0, 0], n_layers=3, max_iter=2, random_state=0).fit(X, X[:, 0])
    assert not any(isinstance(layer, MaxMin) for layer in mono.model_.inner.layers)  # measured: no gain there


def _n_iter(**params):
    X = np.random.RandomState(0).uniform(-1, 1, (60, 2))
    est = JacobianRegressor(
        solver="adam", early_stopping=False, tol=1e9, n_iter_no_change=1, max_iter=100, random_state=0, **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, X.sum(1)).n_iter_


def test_adaptive_learning_rate_divides_by_five_where_constant_would_stop():
    """MLPRegressor's 'adaptive' rule: every stop of the patience rule becomes a division of the rate by 5,
    until it is 1e-6 or less (0.01 / 5**6 < 1e-6: six cuts, each after 2 more stalled epochs)."""
    stop = _n_iter(learning_rate="constant")
    assert stop == 3  # the first epoch sets the best loss, two more exceed n_iter_no_change=1
    assert _n_iter(learning_rate="adaptive") == stop + 6 * 2
    assert _n_iter() == stop  # 'auto': constant for a one-layer model
    assert _n_iter(learning_rate="adaptive", learning_rate_init=1e-6) == stop  # already at the floor


def test_deep_stacks_train_on_a_coarser_mesh_and_freeze_to_the_tolerance(monkeypatch):
    """A deep stack refines its training knots to 100x rtol, atol; the frozen mesh meets rtol, atol itself, and the
    bound holds for predict (the knots of training are not those of the fitted model)."""
    from skjacnet.integrate import integrators

    seen = []
    refine = integrators.MeshQuadrature._refine

    def spy(self, net, lo, hi, scale=1.0):
        seen.append(scale)
        return refine(self, net, lo, hi, scale)

    monkeypatch.setattr(integrators.MeshQuadrature, "_refine", spy)
    X = np.random.RandomState(0).uniform(-1, 1, (80, 3))
    y = np.abs(X).sum(1)  # slope sqrt(3) > k = 1: the fit presses against the bound
    deep = JacobianRegressor(constraint="lipschitz", n_layers=2, max_iter=3, random_state=0, rtol=1e-5, atol=1e-7)
    deep.fit(X, y)
    meshes = deep.model_.integrators()
    assert {it.train_scale for it in meshes} == {100.0}
    assert set(seen) == {100.0, 1.0}  # training refinements coarse, the freeze at rtol, atol
    assert all((it.rtol, it.atol) == (1e-5, 1e-7) for it in meshes)
    ridges = [layer for layer in deep.model_.layers if hasattr(layer, "frozen_rule")]
    assert len(ridges) == 2 and all(layer.frozen_rule.converged for layer in ridges)
    A, B = np.random.RandomState(1).uniform(-3, 3, (2, 2000, 3))
    ratio = np.abs(deep.predict(A) - deep.predict(B)) / np.linalg.norm(A - B, axis=1)
    assert ratio.max() <= 1.0 + 1e-12
    annealed = JacobianRegressor(constraint="lipschitz", n_layers=2, max_iter=3, random_state=0, tol_annealing=True)
    assert {it.train_scale for it in annealed.fit(X, y).model_.integrators()} == {1.0}  # the user's own schedule
    seen.clear()
    one = JacobianRegressor(constraint="lipschitz", max_iter=3, random_state=0).fit(X, y)
    assert one.model_.integrator.train_scale == 1.0 and set(seen) == {1.0}  # one layer: unchanged
    # the one-layer monotone regression on several features trains coarse too; its classifier does not
    mono = JacobianRegressor(monotonic_cst=[1, 0, -1], max_iter=3, random_state=0).fit(X, y)
    assert mono.model_.integrator.train_scale == 100.0 and mono.model_.frozen_rule.converged
    assert mono.check_guarantee(np.vstack([X, 5 * X]), random_state=0)["holds"] is True
    clf = JacobianClassifier(monotonic_cst=[1, 0, -1], max_iter=3, random_state=0).fit(X, y > np.median(y))
    assert clf.model_.integrator.train_scale == 1.0
