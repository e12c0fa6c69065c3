"""Gradient-based task weighting: GradNorm, PCGrad and MGDA, on the shared variables' per-task gradients.

Each strategy flattens the task gradients of the shared variables into one
vector per task (a K x D matrix), combines them inside the compiled training
step, and splits the result back into one gradient per variable.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from adaptkit import TaskWeighting


def stack(grads: dict[str, list], tasks: list[str]) -> tf.Tensor:
    """``K x D``: each task's gradients of the shared variables, flattened and concatenated."""
    return tf.stack([tf.concat([tf.reshape(tf.cast(g, "float32"), [-1]) for g in grads[name]], 0) for name in tasks])


def unstack(vector: tf.Tensor, like: list) -> list:
    """Split a flat vector back into tensors shaped like ``like``."""
    sizes = [tf.size(g) for g in like]
    parts = tf.split(vector, sizes)
    return [tf.cast(tf.reshape(p, tf.shape(g)), g.dtype) for p, g in zip(parts, like)]


class PCGrad(TaskWeighting):
    """Yu et al. (2020): project each task gradient off the gradients it conflicts with, then sum."""

    gradient_based = True

    def __init__(self, section, weights, context) -> None:
        super().__init__(weights)
        self.seed = keras.random.SeedGenerator(context.seed)

    def project(self, matrix: tf.Tensor, orders: tf.Tensor) -> tf.Tensor:
        """``matrix`` K x D; ``orders[i]``: the other tasks in the order task i visits them."""
        k = len(self.tasks)
        out = []
        for i in range(k):
            g = matrix[i]
            for step in range(k - 1):
                other = tf.gather(matrix, orders[i, step])
                dot = tf.reduce_sum(g * other)
                g = g - tf.where(dot < 0, dot / (tf.reduce_sum(other * other) + 1e-20), 0.0) * other
            out.append(g)
        return tf.add_n(out)

    def orders(self) -> tf.Tensor:
        """For each task, the other tasks in a fresh random order."""
        k = len(self.tasks)
        rows = []
        for i in range(k):
            others = tf.constant([j for j in range(k) if j != i], dtype="int32")
            rows.append(keras.random.shuffle(others, seed=self.seed) if k > 2 else others)
        return tf.stack(rows)

    def state(self):
        return [self.seed.state]  # the random order of projections goes on after a resume

    def gradients(self, grads, losses):
        like = grads[self.tasks[0]]
        return unstack(self.project(stack(grads, self.tasks), self.orders()), like)

    def loss(self, losses, progress):
        return sum(losses.values())


def min_norm_weights(gram: tf.Tensor, iterations: int) -> tf.Tensor:
    """Frank-Wolfe for ``min_w |w G|^2`` over the simplex, from the Gram matrix ``G G^T``."""
    k = gram.shape[0]
    w = tf.fill([k], 1.0 / k)
    for _ in range(iterations):
        mw = tf.linalg.matvec(gram, w)
        t = tf.argmin(mw)
        e = tf.one_hot(t, k)
        aa = tf.tensordot(w, mw, 1)
        ab = tf.gather(mw, t)
        bb = tf.gather(tf.linalg.diag_part(gram), t)
        denominator = aa - 2.0 * ab + bb
        gamma = tf.where(denominator > 1e-20, tf.clip_by_value((bb - ab) / tf.maximum(denominator, 1e-20), 0.0, 1.0), 1.0)
        w = gamma * w + (1.0 - gamma) * e
    return w


class MGDA(TaskWeighting):
    """Sener & Koltun (2018): the shared update is the minimum-norm point of the task gradients' convex hull."""

    gradient_based = True

    def __init__(self, section, weights, context) -> None:
        super().__init__(weights)
        self.normalization, self.iterations = section.normalization, section.iterations
        self.alpha = {name: keras.Variable(1.0 / len(self.tasks), dtype="float32", trainable=False, name=f"mgda_alpha_{name}", aggregation="only_first_replica") for name in self.tasks}

    def gradients(self, grads, losses):
        matrix = stack(grads, self.tasks)
        norms = tf.norm(matrix, axis=1)
        loss_values = tf.stack([losses[name] for name in self.tasks])
        scale = {
            "none": tf.ones_like(norms),
            "l2": norms,
            "loss": loss_values,
            "loss+": loss_values * norms,
        }[self.normalization]
        matrix = matrix / tf.maximum(scale, 1e-12)[:, None]
        w = min_norm_weights(tf.matmul(matrix, matrix, transpose_b=True), self.iterations)
        for i, name in enumerate(self.tasks):
            self.alpha[name].assign(w[i])
        return unstack(tf.linalg.matvec(matrix, w, transpose_a=True), grads[self.tasks[0]])

    def loss(self, losses, progress):
        return sum(losses.values())

    def state(self):
        return list(self.alpha.values())

    def weights(self):
        return dict(self.alpha)


class GradNorm(TaskWeighting):
    """Chen et al. (2018): weights ``w_t`` (summing to K) move so that each weighted gradient norm
    ``w_t |g_t|`` approaches ``mean(w |g|) * r_t^alpha``, ``r_t`` the task's loss ratio L_t / L_t(0)
    relative to the mean ratio; the shared update is ``sum(w_t g_t)``."""

    gradient_based = True

    def __init__(self, section, weights, context) -> None:
        super().__init__(weights)
        self.alpha, self.rate = section.alpha, section.learning_rate
        k = len(self.tasks)
        self.w = keras.Variable(tf.ones([k]), dtype="float32", trainable=False, name="gradnorm_weights", aggregation="only_first_replica")
        self.initial = keras.Variable(tf.zeros([k]), dtype="float32", trainable=False, name="gradnorm_initial_losses", aggregation="only_first_replica")

    def gradients(self, grads, losses):
        k = len(self.tasks)
        matrix = stack(grads, self.tasks)
        loss_values = tf.stack([losses[name] for name in self.tasks])
        self.initial.assign(tf.where(self.initial > 0, self.initial, loss_values))
        w = tf.identity(self.w)
        norms = tf.norm(matrix, axis=1)
        weighted = w * norms
        ratio = loss_values / tf.maximum(self.initial, 1e-12)
        relative = ratio / tf.maximum(tf.reduce_mean(ratio), 1e-12)
        target = tf.stop_gradient(tf.reduce_mean(weighted) * relative**self.alpha)
        step = tf.sign(weighted - target) * norms  # d |w_t |g_t| - target_t| / d w_t
        new = tf.maximum(w - self.rate * step, 1e-3)
        self.w.assign(new * k / tf.reduce_sum(new))
        return unstack(tf.linalg.matvec(matrix, w, transpose_a=True), grads[self.tasks[0]])

    def loss(self, losses, progress):
        return sum(self.w[i] * losses[name] for i, name in enumerate(self.tasks))

    def state(self):
        return [self.w, self.initial]

    def weights(self):
        return {name: self.w[i] for i, name in enumerate(self.tasks)}
