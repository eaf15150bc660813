"""Device check and GPU benchmark, prepared to run in ONE call on a lent GPU machine.

    python benchmarks/gpu.py --device cuda        # on the GPU machine (a few minutes)
    python benchmarks/gpu.py --device cpu --quick # smoke run anywhere (part of the tests)

Prints, from one run on one device: the GPU tests' outcome (fit, predict, inverse,
a CUDA-fitted model reloading on the CPU), then timings as ratios against one
forward pass of the same network over the same points (float64 and float32,
64-unit net, 1-D): skjacnet predict, a naive 16-node Gauss-Legendre rule, dopri5 at 1e-6, and
a training step on 1e5 points (quadrature vs dopri5).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time

import numpy as np
import torch

from skjacnet import InvertibleJacobianRegressor


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str, repeat: int = 5) -> float:
    fn()  # warm-up (kernels, allocator)
    best = float("inf")
    for _ in range(repeat):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def bench_dtype(est, dev: str, dtype: str, q: bool, rng: np.random.RandomState) -> None:
    """Predict on 1e7 points and a training step on 1e5, as ratios to one forward pass, in one dtype."""
    model = est.model_
    tdt = model.x0.dtype
    ode_tol = 1e-6 if dtype == "float64" else 1e-5  # float32 rounding (6e-8 relative) stalls dopri5 at 1e-6
    n = 10**5 if q else 10**7
    Xp = torch.as_tensor(rng.uniform(-3, 3, (n, 1)), device=dev, dtype=tdt)
    with torch.no_grad():
        t_floor = timed(lambda: model.field(Xp), dev)
        t_pred = timed(lambda: model(Xp), dev)
        nodes, weights = np.polynomial.legendre.leggauss(16)
        t_n = torch.as_tensor((nodes + 1) / 2, device=dev, dtype=tdt)
        w_n = torch.as_tensor(weights / 2, device=dev, dtype=tdt)

        def gl16():
            out = 0
            for t, w in zip(t_n, w_n):
                out = out + w * model.g_table((t * Xp).reshape(-1))
            return out * Xp

        t_gl = timed(gl16, dev, repeat=2)
        fitted = model.integrator  # the fitted mesh, put back after timing dopri5
        model.use_integrator("dopri5", ode_tol, ode_tol)
        t_dopri = timed(lambda: model(Xp), dev, repeat=1)
        model.integrator = fitted
    print(
        f"[{dtype}] predict {n:.0e} pts: skjacnet {t_pred * 1e3:.1f} ms (goal on an H200, float32: <= 20 ms); "
        f"forward pass {t_floor * 1e3:.1f} ms; skjacnet {t_pred / t_floor:.2f}x, GL16 {t_gl / t_floor:.1f}x, "
        f"dopri5 (tol {ode_tol:g}) {t_dopri / t_floor:.1f}x the pass"
    )
    m = 10**4 if q else 10**5
    Xt = torch.as_tensor(rng.uniform(-2, 2, (m, 1)), device=dev, dtype=tdt)
    Yt = torch.exp(Xt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        ((model(Xt) - Yt) ** 2).mean().backward()
        opt.step()

    model.train()
    t_quad = timed(step, dev)
    fitted = model.integrator
    model.use_integrator("dopri5", ode_tol, ode_tol)
    t_ode = timed(step, dev, repeat=2)
    model.integrator = fitted
    model.eval()
    print(
        f"[{dtype}] training step on {m:.0e} pts: quadrature {t_quad * 1e3:.1f} ms, dopri5 (tol {ode_tol:g}) "
        f"{t_ode * 1e3:.1f} ms "
        f"({t_ode / t_quad:.1f}x)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    dev, q = args.device, args.quick
    print(
        f"device {dev}: {torch.cuda.get_device_name(0) if dev.startswith('cuda') else 'cpu'}, torch {torch.__version__}"
    )
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, (2000 if q else 20_000, 1))
    y = np.exp(X).ravel()

    # --- correctness on the device
    est = InvertibleJacobianRegressor(device=dev, max_iter=10 if q else 100, random_state=0).fit(X, y)
    cpu = InvertibleJacobianRegressor(device="cpu", max_iter=10 if q else 100, random_state=0).fit(X, y)
    xs = np.linspace(-3, 3, 1001).reshape(-1, 1)
    trip = float(np.max(np.abs(est.inverse_transform(est.predict(xs)) - xs)))
    loaded = pickle.loads(pickle.dumps(est))  # state is device-free numpy
    same = bool(np.allclose(loaded.predict(xs), est.predict(xs), rtol=1e-12, atol=1e-12))
    monotone = bool(np.all(np.diff(est.predict(xs)) > 0))
    print(
        f"fit/predict on {dev} vs cpu: max diff {np.max(np.abs(est.predict(xs) - cpu.predict(xs))):.2e}; "
        f"round trip {trip:.1e}; pickle reload identical: {same}; monotone: {monotone}"
    )

    for dtype in ("float64", "float32"):
        est = InvertibleJacobianRegressor(device=dev, dtype=dtype, max_iter=10 if q else 100, random_state=0).fit(X, y)
        bench_dtype(est, dev, dtype, q, rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
