"""The core transferability scores: LogME, LEEP, H-score, linear probe and kNN accuracy (numpy and scikit-learn; no TensorFlow).

Each is a function of one candidate's :class:`adaptkit.ScoreData` (frozen
features of the labeled training split, labels, the source's own class
probabilities) and follows its paper:

- LogME, You et al. 2021 ("LogME: Practical Assessment of Pre-trained Models for Transfer
  Learning", ICML): the evidence p(y | F, alpha, beta) of Bayesian linear regression from the
  features, maximised over the prior precision alpha and the noise precision beta by the
  paper's fixed-point iteration, on one SVD of F; log-evidence per example, averaged over the
  one-vs-rest class targets (or the regression targets).
- LEEP, Nguyen et al. 2020 ("LEEP: A New Measure to Evaluate Transferability of Learned
  Representations", ICML): (1/n) sum_i log sum_z P(y_i | z) theta(x_i)_z with the empirical
  conditional P(y | z) from the joint of the labels and the source classifier's outputs theta.
- H-score, Bao et al. 2019 ("An Information-Theoretic Approach to Transferability in Task
  Transfer Learning", ICIP): tr(cov(f)^-1 cov(E[f | y])); cov(f) shrunk towards a scaled identity
  (Ledoit-Wolf by default), the regularised form of Ibrahim et al. 2022, since features of
  hundreds of dimensions from a few hundred examples make the plain covariance singular.
- Linear probe and kNN: stratified k-fold accuracy of a logistic regression / a k-NN vote on
  standardised features (the linear evaluation protocol of Kornblith et al. 2019).
"""

from __future__ import annotations

import numpy as np

from adaptkit import Score, ScoreData

from . import score_sections as S

__all__ = ["build_score", "logme", "leep", "h_score", "linear_probe", "knn"]


def _targets(data: ScoreData) -> np.ndarray:
    """One column per target: one-vs-rest 0/1 for classes, the values for a regression."""
    y = np.asarray(data.labels)
    if data.classification:
        y = y.astype(int).reshape(-1)
        return (y[:, None] == np.arange(data.task.num_classes)[None, :]).astype(np.float64)
    y = y.astype(np.float64)
    return y.reshape(len(y), -1)


def _evidence(y: np.ndarray, fty: np.ndarray, vt: np.ndarray, s: np.ndarray, n: int, d: int, f: np.ndarray,
              tolerance: float, max_iterations: int) -> float:
    """Maximum log-evidence per example of one target (You et al. 2021, Algorithm 1).

    ``s``: the nonzero eigenvalues of F^T F (sigma^2 of F's SVD), ``vt`` their eigenvectors; the
    D - len(s) zero eigenvalues only add log(alpha) terms to log|A|."""
    alpha, beta = 1.0, 1.0
    projected = vt @ fty  # V^T F^T y
    for _ in range(max_iterations):
        lam = alpha / beta
        gamma = float(np.sum(s / (s + lam)))
        m = vt.T @ (projected * beta / (alpha + beta * s))
        m2 = float(m @ m)
        residual = float(np.sum((y - f @ m) ** 2))
        alpha = gamma / max(m2, 1e-300)
        beta = (n - gamma) / max(residual, 1e-300)
        if abs(alpha / beta - lam) / lam < tolerance:
            break
    m = vt.T @ (projected * beta / (alpha + beta * s))
    m2 = float(m @ m)
    residual = float(np.sum((y - f @ m) ** 2))
    log_det = float(np.sum(np.log(alpha + beta * s))) + (d - len(s)) * np.log(alpha)
    evidence = (d / 2 * np.log(alpha) + n / 2 * np.log(beta) - beta / 2 * residual - alpha / 2 * m2
                - log_det / 2 - n / 2 * np.log(2 * np.pi))
    return float(evidence / n)


def logme(section: S.LogME, data: ScoreData) -> float:
    f = np.asarray(data.features, dtype=np.float64)
    n, d = f.shape
    _, sigma, vt = np.linalg.svd(f, full_matrices=False)  # the fast form: F's SVD, not F^T F's
    keep = sigma > sigma.max(initial=0.0) * max(n, d) * np.finfo(np.float64).eps
    s, vt = sigma[keep] ** 2, vt[keep]
    ys = _targets(data)
    fty = f.T @ ys
    values = [_evidence(ys[:, j], fty[:, j], vt, s, n, d, f, section.tolerance, section.max_iterations) for j in range(ys.shape[1])]
    return float(np.mean(values))


def leep(section: S.LEEP, data: ScoreData) -> float:
    theta = np.asarray(data.source_probabilities, dtype=np.float64)
    sums = theta.sum(axis=1, keepdims=True)
    if np.any(theta < 0) or not np.allclose(sums, 1.0, atol=1e-3):  # logits: make them probabilities
        theta = np.exp(theta - theta.max(axis=1, keepdims=True))
        sums = theta.sum(axis=1, keepdims=True)
    theta = theta / sums
    y = np.asarray(data.labels).astype(int).reshape(-1)
    n = len(y)
    onehot = np.eye(data.task.num_classes)[y]
    joint = onehot.T @ theta / n  # P(y, z), (classes, source classes)
    conditional = joint / np.maximum(joint.sum(axis=0, keepdims=True), 1e-300)  # P(y | z)
    expected = np.sum(theta * conditional[y], axis=1)  # sum_z P(y_i | z) theta_z(x_i)
    return float(np.mean(np.log(np.maximum(expected, 1e-300))))


def _shrunk_covariance(f: np.ndarray, shrinkage) -> np.ndarray:
    if shrinkage == "auto":
        from sklearn.covariance import LedoitWolf

        return LedoitWolf(assume_centered=False).fit(f).covariance_
    cov = np.cov(f, rowvar=False, bias=True)
    mu = np.trace(cov) / cov.shape[0]
    return (1 - shrinkage) * cov + shrinkage * mu * np.eye(cov.shape[0])


def h_score(section: S.HScore, data: ScoreData) -> float:
    f = np.asarray(data.features, dtype=np.float64)
    y = np.asarray(data.labels).astype(int).reshape(-1)
    f = f - f.mean(axis=0)
    cov_f = _shrunk_covariance(f, section.shrinkage)
    g = np.zeros_like(f)
    for c in np.unique(y):
        g[y == c] = f[y == c].mean(axis=0)  # E[f | y], per example
    cov_g = g.T @ g / len(f)
    return float(np.trace(np.linalg.pinv(cov_f, hermitian=True) @ cov_g))


def _folds(data: ScoreData, folds: int):
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(data.labels).astype(int).reshape(-1)
    counts = np.bincount(y)
    smallest = int(counts[counts > 0].min())  # no more folds than the rarest class has examples
    return y, StratifiedKFold(n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=data.seed)


def _cross_validated(model, data: ScoreData, folds: int) -> float:
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y, cv = _folds(data, folds)
    pipeline = make_pipeline(StandardScaler(), model)
    return float(np.mean(cross_val_score(pipeline, np.asarray(data.features, dtype=np.float64), y, cv=cv, scoring="accuracy")))


def linear_probe(section: S.LinearProbe, data: ScoreData) -> float:
    from sklearn.linear_model import LogisticRegression

    return _cross_validated(LogisticRegression(C=section.C, max_iter=section.max_iter), data, section.folds)


def knn(section: S.KNN, data: ScoreData) -> float:
    from sklearn.neighbors import KNeighborsClassifier

    return _cross_validated(KNeighborsClassifier(n_neighbors=section.k, metric=section.metric), data, section.folds)


_BUILDERS = {S.LogME: logme, S.LEEP: leep, S.HScore: h_score, S.LinearProbe: linear_probe, S.KNN: knn}


def build_score(section) -> Score:
    compute = _BUILDERS[type(section)]
    return Score(lambda data: compute(section, data), higher_is_better=True)
