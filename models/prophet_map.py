"""Prophet's MAP fit solved in-process: the same model and objective as its Stan program.

A Flux Prophet is linear growth with additive seasonalities, holidays and regressors. For that
model, Prophet's Stan program (``prophet/stan_model/prophet.stan``) is a penalised least-squares
problem, and the optimum ``cmdstan optimize`` looks for is the minimum of

    f(k, m, delta, beta, sigma) = RSS / (2 sigma^2) + T log sigma + 2 sigma^2
                                  + (k^2 + m^2) / 50 + sum(beta_j^2 / (2 sigmas_j^2))
                                  + sum(|delta_j|) / tau

(the negative log posterior of ``k, m ~ normal(0, 5)``, ``delta ~ double_exponential(0, tau)``,
``sigma_obs ~ normal(0, 0.5)``, ``beta ~ normal(0, sigmas)`` and the normal likelihood of
``y`` around the linear trend plus ``X beta``, constants dropped, no Jacobian: cmdstan's
default). RSS is the residual sum of squares of ``y`` on the columns ``t``, ``1``, the
changepoint ramps ``(t - t_change_j)+`` and ``X``.

:func:`solve` minimises it by blocks, each exactly:

- for a fixed ``sigma`` the problem in ``(k, m, beta, delta)`` is a lasso in ``delta`` with a
  ridge on the rest; the smooth coefficients are eliminated (a Cholesky solve) and the lasso in
  the changepoints (at most 25) is solved exactly as a non-negative least-squares problem over
  ``delta = u - v`` (``scipy.optimize.nnls``, an active-set method);
- for a fixed rest, ``sigma^2`` is the positive root of ``4 s^2 + T s - RSS = 0``.

Each step lowers ``f``; the loop stops when ``sigma`` settles. That takes a few milliseconds
against cmdstan's ~50 ms of process and file round trip, and reaches the same optimum or a lower
objective (an L1 prior's optimum has changepoint deltas at exactly zero, which L-BFGS only
approaches). :func:`objective` is ``f`` itself, for comparing fits.

Anything else Prophet can express (logistic or flat growth, multiplicative terms) is not this
problem: :func:`supports` says which Stan data :func:`solve` takes, and the caller falls back to
cmdstan for the rest.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.linalg import (  # type: ignore[import-untyped]
    cho_factor,
    cho_solve,
    cholesky,
    solve_triangular,
)
from scipy.optimize import nnls  # type: ignore[import-untyped]

__all__ = ["objective", "solve", "supports"]

_MAX_ROUNDS = 500  # sigma updates; a few dozen at most in practice
_SIGMA_RTOL = 1e-12  # stop when sigma^2 changes less than this, relatively
_PRIOR_KM = 1.0 / 25.0  # precision of k, m ~ normal(0, 5)


def supports(data: Mapping[str, Any]) -> bool:
    """Whether :func:`solve` takes this Stan data: linear growth, no multiplicative terms."""
    return int(data["trend_indicator"]) == 0 and not np.any(np.asarray(data["s_m"], dtype=float))


def _design(data: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(smooth columns [t, 1, X_sa], changepoint ramps, y, prior precision of the smooth ones)."""
    t = np.asarray(data["t"], dtype=float)
    y = np.asarray(data["y"], dtype=float)
    x = np.asarray(data["X"], dtype=float).reshape(len(t), -1)
    x_sa = x * np.asarray(data["s_a"], dtype=float)
    t_change = np.asarray(data["t_change"], dtype=float).reshape(-1)
    # Stan's get_changepoint_matrix: A[i, j] = 1 where t[i] >= t_change[j]
    ramps = np.where(t[:, None] >= t_change[None, :], t[:, None] - t_change[None, :], 0.0)
    smooth = np.column_stack([t, np.ones_like(t), x_sa])
    sigmas = np.asarray(data["sigmas"], dtype=float).reshape(-1)
    precision = np.concatenate([[_PRIOR_KM, _PRIOR_KM], 1.0 / sigmas**2])
    return smooth, ramps, y, precision


def objective(data: Mapping[str, Any], params: Mapping[str, Any]) -> float:
    """``f`` above (the negative log posterior cmdstan's optimiser minimises) at ``params``."""
    smooth, ramps, y, precision = _design(data)
    k, m, sigma = (float(np.asarray(params[n]).reshape(-1)[0]) for n in ("k", "m", "sigma_obs"))
    delta = np.asarray(params["delta"], dtype=float).reshape(-1)
    beta = np.asarray(params["beta"], dtype=float).reshape(-1)
    coef = np.concatenate([[k, m], beta])
    residual = y - smooth @ coef - ramps @ delta
    rss = float(residual @ residual)
    return float(
        rss / (2 * sigma**2)
        + len(y) * np.log(sigma)
        + 2 * sigma**2
        + 0.5 * float(coef**2 @ precision)
        + np.abs(delta).sum() / float(data["tau"])
    )


def _lasso(h_mat: np.ndarray, h_vec: np.ndarray, weight: float) -> np.ndarray:
    """argmin over d of 0.5 d'Hd - h'd + weight * |d|_1 (H positive semi-definite), exactly.

    With d = u - v and u, v >= 0 it is a quadratic over the non-negative orthant; a ridge of
    1e-10 x H's scale on (u, v) makes it strictly convex (its only effect at the optimum, where
    u_j v_j = 0, is 1e-10 d^2 in the objective) so it can be written as ``|Rz - b|^2`` for
    ``nnls``.
    """
    s = len(h_vec)
    scale = max(float(np.max(np.diag(h_mat))), 1e-300)
    big = np.block([[h_mat, -h_mat], [-h_mat, h_mat]]) + np.eye(2 * s) * (1e-10 * scale)
    linear = np.concatenate([h_vec - weight, -h_vec - weight])
    upper = cholesky(big, lower=False)  # big = upper' upper
    target = solve_triangular(upper, linear, trans="T", lower=False)
    z, _ = nnls(upper, target, maxiter=50 * 2 * s)
    return np.asarray(z[:s] - z[s:], dtype=float)


def solve(data: Mapping[str, Any], init: Mapping[str, Any]) -> OrderedDict[str, np.ndarray]:
    """Prophet's MAP parameters for ``data`` (its Stan data), shaped as its backends return them.

    ``init`` is Prophet's initial parameters; only its ``sigma_obs`` is used (as the first
    ``sigma``), since each block is solved exactly from wherever it starts.

    Raises:
        ValueError: the data is not a model :func:`supports`.
    """
    if not supports(data):
        raise ValueError("prophet_map.solve: only linear growth with additive terms")
    smooth, ramps, y, precision = _design(data)
    n_rows, n_smooth = smooth.shape
    tau = float(data["tau"])
    full = np.column_stack([smooth, ramps])
    gram = full.T @ full
    cross = full.T @ y
    g_ss, g_sd = gram[:n_smooth, :n_smooth], gram[:n_smooth, n_smooth:]
    g_dd = gram[n_smooth:, n_smooth:]
    b_s, b_d = cross[:n_smooth], cross[n_smooth:]

    sigma2 = float(np.asarray(init["sigma_obs"]).reshape(-1)[0]) ** 2 or 1.0
    delta = np.zeros(ramps.shape[1])
    coef = np.zeros(n_smooth)
    for _ in range(_MAX_ROUNDS):
        # the (k, m, beta, delta) block at this sigma, scaled by sigma^2:
        # 0.5 theta'(G + sigma^2 P)theta - b'theta + (sigma^2 / tau) |delta|_1
        factor = cho_factor(g_ss + np.diag(sigma2 * precision))
        if ramps.shape[1]:
            solved = cho_solve(factor, np.column_stack([g_sd, b_s]))
            h_mat = g_dd - g_sd.T @ solved[:, :-1]
            h_vec = b_d - g_sd.T @ solved[:, -1]
            delta = _lasso((h_mat + h_mat.T) / 2, h_vec, sigma2 / tau)
        coef = cho_solve(factor, b_s - g_sd @ delta)
        residual = y - smooth @ coef - ramps @ delta
        rss = float(residual @ residual)
        # the sigma block: the positive root of 4 s^2 + T s - RSS (s = sigma^2), stably
        new = 2 * rss / (n_rows + np.sqrt(n_rows**2 + 16 * rss))
        settled = abs(new - sigma2) <= _SIGMA_RTOL * max(new, 1e-300)
        sigma2 = new
        if settled:
            break
    sigma = max(np.sqrt(sigma2), 1e-300)
    k, m, beta = coef[0], coef[1], coef[2:]
    trend = k * smooth[:, 0] + m + ramps @ delta  # Stan's linear_trend
    params = {"k": k, "m": m, "delta": delta, "sigma_obs": sigma, "beta": beta}
    # cmdstan's columns, in its order: lp__ (the log density it maximised), then the parameters
    lp = -objective(data, params)
    values = {"lp__": lp, **params, "trend": trend}
    return OrderedDict(
        (name, np.asarray(value, dtype=float).reshape((1, -1))) for name, value in values.items()
    )
