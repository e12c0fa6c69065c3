"""Label-free validators: scores of a model's fit to the unlabeled target, from numpy arrays.

Each score follows its paper and pytorch-adapt's validator of the same name
(Musgrave et al. 2022, "Three New Validators and a Large-Scale Benchmark Ranking
for Unsupervised Domain Adaptation"), but keeps its natural sign: entropy and
DEV are smaller for a better model, IM and SND larger. No TensorFlow here:
the host hands over predictions and features as arrays (``adaptkit.ValidationData``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import entr, softmax

from adaptkit import Validator

from . import validator_sections as V

__all__ = [
    "mean_entropy",
    "information_maximization",
    "soft_neighborhood_density",
    "importance_weights",
    "dev_risk",
    "build_validator",
]


def mean_entropy(p: np.ndarray) -> float:
    """Mean over examples of H(p_i) = -sum_c p_ic log p_ic (natural log; 0 log 0 = 0)."""
    return float(np.mean(entr(np.asarray(p, "float64")).sum(axis=1)))


def information_maximization(p: np.ndarray) -> float:
    """IM = H(mean_i p_i) - mean_i H(p_i): diverse across examples, confident on each.

    pytorch-adapt's ``IMValidator`` (its ``DiversityValidator`` plus its ``EntropyValidator``)."""
    p = np.asarray(p, "float64")
    return float(entr(p.mean(axis=0)).sum()) - mean_entropy(p)


def soft_neighborhood_density(p: np.ndarray, temperature: float = 0.05) -> float:
    """SND (Saito et al. 2021, "Tune it the Right Way"): the L2-normalised probability vectors'
    cosine similarities to every *other* example, divided by the temperature and
    softmax-normalised per row; the score is the mean entropy of those rows. Dense, well-separated
    clusters of predictions give a high score."""
    p = np.asarray(p, "float64")
    x = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    n = len(x)
    if n < 2:
        raise ValueError("SND needs at least two target examples")
    sim = (x @ x.T)[~np.eye(n, dtype=bool)].reshape(n, n - 1)  # mask out each example itself
    return float(np.mean(entr(softmax(sim / temperature, axis=1)).sum(axis=1)))


def _domain_classifier(kind: str, strength: float, dim: int, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "mlp":  # the reference code's: hidden layers (d, d, 2), alpha the L2 strength
        model = MLPClassifier(hidden_layer_sizes=(dim, dim, 2), alpha=strength, random_state=seed, max_iter=200)
    else:
        model = LogisticRegression(C=1.0 / strength, max_iter=300)
    return make_pipeline(StandardScaler(), model)


# L2 strengths tried (the reference code's grid for the MLP, a coarser one for the linear model)
STRENGTHS = {"mlp": (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5), "logistic": (10.0, 1.0, 0.1, 0.01)}


def importance_weights(
    source: np.ndarray, target: np.ndarray, validation: np.ndarray, classifier: str = "logistic", seed: int = 0
) -> tuple[np.ndarray, float]:
    """DEV's density ratio p_t(x) / p_s(x) at the source validation features, and the domain
    classifier's held-out accuracy.

    As in You et al. (2019, Algorithm 1) and their code: a classifier tells source *training*
    features (label 1) from target features (label 0), its L2 strength chosen on a held-out 20% of
    them; the weight of a validation example is P(target | x) / P(source | x) * N_s / N_t. The
    strength is chosen by held-out cross-entropy rather than the reference's accuracy: the weights
    need calibrated probabilities, and accuracy ties often pick the most shrunk classifier.
    """
    from sklearn.metrics import log_loss
    from sklearn.model_selection import train_test_split

    source, target, validation = (np.asarray(a, "float64") for a in (source, target, validation))
    n_s, n_t = len(source), len(target)
    x = np.concatenate([source, target])
    y = np.concatenate([np.ones(n_s, int), np.zeros(n_t, int)])
    x_fit, x_held, y_fit, y_held = train_test_split(x, y, train_size=0.8, random_state=seed, stratify=y)
    best, best_loss = None, np.inf
    for strength in STRENGTHS[classifier]:
        model = _domain_classifier(classifier, strength, x.shape[1], seed).fit(x_fit, y_fit)
        loss = float(log_loss(y_held, model.predict_proba(x_held), labels=[0, 1]))
        if loss < best_loss:
            best, best_loss = model, loss
    best_accuracy = float(best.score(x_held, y_held))
    p = np.clip(best.predict_proba(validation), 1e-6, 1.0)  # columns: classes 0 (target), 1 (source)
    return p[:, 0] / p[:, 1] * (n_s / n_t), best_accuracy


def _normalized(weights: np.ndarray, normalization: str) -> np.ndarray:
    """pytorch-adapt's options: ``max`` divides by the largest weight and shifts the mean to 1
    (its DEVN); ``standardize`` gives mean 1 and unit spread."""
    w = np.asarray(weights, "float64")
    if normalization == "max":
        w = w / np.max(w)
        return w - (np.mean(w) - 1)
    if normalization == "standardize":
        return (w - np.mean(w)) / max(float(np.std(w)), 1e-12) + 1
    return w


def dev_risk(weights: np.ndarray, errors: np.ndarray, normalization: str = "none") -> float:
    """DEV's risk: mean(w l) + eta mean(w) - eta with the control variate eta = -Cov(w l, w) / Var(w)
    (You et al. 2019, eq. 6; their ``get_dev_risk``). Lower is better."""
    w = _normalized(weights, normalization)
    weighted = w * np.asarray(errors, "float64")
    var_w = float(np.var(w, ddof=1)) if len(w) > 1 else 0.0
    eta = -float(np.cov(weighted, w)[0, 1]) / var_w if var_w > 0 else 0.0
    return float(np.mean(weighted) + eta * np.mean(w) - eta)


def _errors(p: np.ndarray, labels: np.ndarray, kind: str) -> np.ndarray:
    labels = np.asarray(labels).astype(int).reshape(-1)
    if kind == "zero_one":
        return (np.argmax(p, axis=1) != labels).astype("float64")
    return -np.log(np.clip(p[np.arange(len(labels)), labels], 1e-7, 1.0))


def _dev(section: V.DEVValidator, seed: int):
    def score(data: Any) -> float:
        weights, _ = importance_weights(
            data.source_features, data.target_features, data.validation_features, section.classifier, seed
        )
        errors = _errors(data.validation_probabilities, data.validation_labels, section.error)
        return dev_risk(weights, errors, section.normalization)

    return score


def build_validator(section: Any, seed: int = 0) -> Validator:
    """The score of one ``evaluation.validators`` entry, and its direction."""
    if isinstance(section, V.EntropyValidator):
        return Validator(lambda data: mean_entropy(data.target_probabilities), higher_is_better=False)
    if isinstance(section, V.IMValidator):
        return Validator(lambda data: information_maximization(data.target_probabilities), higher_is_better=True)
    if isinstance(section, V.SNDValidator):
        t = section.temperature
        return Validator(lambda data: soft_neighborhood_density(data.target_probabilities, t), higher_is_better=True)
    return Validator(_dev(section, seed), higher_is_better=False)
