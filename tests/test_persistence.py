"""pickle, joblib and skops round trips give bit-identical results; the state is device-free."""

import io
import pickle

import joblib
import numpy as np
import pytest
import torch
from kinds import KINDS, fit_kind

from skjacnet import InvertibleJacobianRegressor, JacobianRegressor
from skjacnet._persist import restore_device

sio = pytest.importorskip("skops.io")


def _fitted(case):
    est, X, _ = fit_kind(case, max_iter=10)  # the shared table of model kinds (tests/kinds.py)
    return est, X


def _same(a, b, X):
    assert np.array_equal(a.predict(X), b.predict(X))
    if hasattr(a, "inverse_transform"):
        Y = a.predict(X)
        assert np.array_equal(a.inverse_transform(Y), b.inverse_transform(Y))
    assert a.guarantee_ == b.guarantee_


@pytest.mark.parametrize("case", sorted(KINDS))
def test_pickle_joblib_skops_round_trips(case):
    est, X = _fitted(case)
    _same(est, pickle.loads(pickle.dumps(est)), X)
    buf = io.BytesIO()
    joblib.dump(est, buf)
    buf.seek(0)
    _same(est, joblib.load(buf), X)
    data = sio.dumps(est)
    # secure loading: nothing to trust but the estimator's own class (no torch, no pickle)
    assert sio.get_untrusted_types(data=data) == [f"skjacnet.regressor.{type(est).__name__}"]
    _same(est, sio.loads(data, trusted=[f"skjacnet.regressor.{type(est).__name__}"]), X)


def test_state_holds_no_tensors():
    est, _ = _fitted("invertible-nd")
    state = est.__getstate__()["model_"]

    def walk(obj):
        assert not isinstance(obj, torch.Tensor | torch.nn.Module)
        if isinstance(obj, dict):
            for v in obj.values():
                walk(v)

    walk(state)


def test_a_cuda_model_loads_on_the_cpu_when_cuda_is_missing():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert restore_device("cuda") == torch.device("cpu")
    assert restore_device("auto") == torch.device("cpu")
    est, X = _fitted("invertible-1d")
    est.device = "cuda"  # as if it had been fitted on a GPU machine
    loaded = pickle.loads(pickle.dumps(est))
    assert next(loaded.model_.buffers()).device.type == "cpu"
    assert np.array_equal(loaded.predict(X), est.predict(X))


def test_states_saved_by_earlier_versions_load_unchanged(rng):
    """Kronecker states once held d x d identity placeholders; Lipschitz states had no h_scale
    (their network computed k tanh(h)): both still load and predict what they predicted."""
    X = rng.standard_normal((60, 4))
    kron = InvertibleJacobianRegressor(constraint="kronecker", max_iter=3, random_state=0).fit(X, X + np.tanh(X))
    old = kron.__getstate__()
    old["model_"]["tensors"]["V_raw"] = old["model_"]["tensors"]["U_raw"] = np.eye(4)
    loaded = InvertibleJacobianRegressor.__new__(InvertibleJacobianRegressor)
    loaded.__setstate__(old)
    np.testing.assert_array_equal(loaded.predict(X), kron.predict(X))

    y = 30 * X[:, 0]  # standardised k = 200 * sd(x) / sd(y) = 6.7: h_scale matters
    lip = JacobianRegressor(constraint="lipschitz", lipschitz_constant=200.0, method="rk4", max_iter=3, random_state=0)
    lip.fit(X[:, :1], y)
    old = lip.__getstate__()
    del old["model_"]["structure"]["h_scale"]
    loaded = JacobianRegressor.__new__(JacobianRegressor)
    loaded.__setstate__(old)
    h = torch.linspace(-3, 3, 7, dtype=torch.float64)
    k = loaded.model_.structure.k
    assert k > 1 and lip.model_.structure.h_scale == k
    torch.testing.assert_close(loaded.model_.structure(h), k * torch.tanh(h))  # the old map, not a new one
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(lip)).predict(X[:, :1]), lip.predict(X[:, :1]))

    # the paper's 1-D model before trend_band (no field, no range buffers): loads, and predicts from its saved mesh
    paper = JacobianRegressor(max_iter=5, random_state=0).fit(X[:, :1], np.tanh(X[:, 0]))
    old = _flag_state(paper.__getstate__())
    del old["model_"]["trend_band"]
    for name in ("s_lo", "s_hi", "h_end", "h_rise"):
        del old["model_"]["tensors"][name]
    loaded = JacobianRegressor.__new__(JacobianRegressor)
    loaded.__setstate__(old)
    far = np.linspace(-8, 8, 33)[:, None]
    assert loaded.model_.extrapolation.name == "unbounded"
    np.testing.assert_array_equal(loaded.predict(far), paper.predict(far))
    assert pickle.loads(pickle.dumps(paper)).model_.extrapolation.name == "trend_band"


# the flags of the one ridge class before one class per structure (constraints.legacy), by today's kind and policy
_FLAGS = {
    "ridge": {}, "ridge_lipschitz": {"normalize": True}, "ridge_scalar_bijection": {},
    "ridge_monotone": {"has_monotonic_cst": True}, "ridge_gradient": {"has_sign": True},
}  # fmt: skip
_POLICY_FLAGS = {
    "unbounded": {}, "saturate": {"saturate": True}, "growth_cap": {"growth_cap": True},
    "trend_cap": {"growth_cap": True, "trend_cap": True}, "trend_band": {"trend_band": True},
}  # fmt: skip


def _flag_state(state: dict) -> dict:
    """An estimator's state as the flag-matrix ridge network saved it (kind 'ridge', buffers on the network)."""
    model = dict(state["model_"])
    flags = {"saturate": False, "growth_cap": False, "trend_cap": False, "trend_band": False, "has_sign": False,
             "has_monotonic_cst": False, "normalize": False, **_FLAGS[model["kind"]],
             **_POLICY_FLAGS[model.pop("extrapolation")]}  # fmt: skip
    tensors = {k.removeprefix("extrapolation."): v for k, v in model["tensors"].items()}
    return {**state, "model_": {**model, **flags, "kind": "ridge", "tensors": tensors}}


@pytest.mark.parametrize(
    "kw, d",
    [({}, 1), ({"constraint": "none"}, 3), ({"constraint": "lipschitz"}, 1), ({"constraint": "lipschitz"}, 3),
     ({"monotonic_cst": [1]}, 1), ({"monotonic_cst": [1, 0, -1]}, 3), ({"constraint": "positive_definite"}, 1),
     ({"constraint": "positive_definite", "positive_map": "square"}, 1)],
)  # fmt: skip
def test_ridge_networks_saved_as_one_class_of_flags_load_as_their_structure(kw, d, rng):
    X = rng.uniform(-1, 1, (60, d))
    est = JacobianRegressor(**kw, max_iter=5, random_state=0).fit(X, np.tanh(X).sum(1))
    loaded = JacobianRegressor.__new__(JacobianRegressor)
    loaded.__setstate__(_flag_state(est.__getstate__()))
    assert type(loaded.model_) is type(est.model_)
    assert loaded.model_.extrapolation.name == est.model_.extrapolation.name
    far = rng.uniform(-6, 6, (40, d))
    np.testing.assert_array_equal(loaded.predict(far), est.predict(far))
    holds = est.check_guarantee(far, random_state=0)["holds"]
    assert loaded.check_guarantee(far, random_state=0)["holds"] == holds
    assert holds is (None if kw.get("constraint") == "none" or kw == {} else True)
