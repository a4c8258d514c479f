"""
==========================================================
Latent-space Bayesian optimisation on the digits data set
==========================================================

An LRA-VAE maps the 8x8 images of :func:`sklearn.datasets.load_digits` to an
8-dimensional latent space. :class:`~sklearn_lravae.LatentBayesSearch` then
looks for the latent point whose decoded image is closest to a target image
the search never sees directly: the objective only returns the negative squared
distance of a decoded image to it (higher is better). We compare, at the same
budget of 40 evaluations from the same 10 initial images,

- random sampling from the VAE's prior,
- LSBO with a fixed VAE, and
- LSBO with LRA retraining every 10 evaluations: the VAE continues training on
  the evaluated images with its LRE reference centred on the queried latents,
  and every evaluated image is re-encoded into the new latent space.

The run is small (one seed, about half a minute); conclusions need several
seeds, see ``tests/test_search.py`` and ``benchmarks/lsbo_molecules.py``.
"""

# %%
# Train the VAE and define the objective
# --------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from skopt.plots import plot_convergence

from sklearn_lravae import LatentBayesSearch, LRAVAETransformer

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = X[:1400], X[1400:], y[:1400], y[1400:]

vae = LRAVAETransformer(
    n_components=8,
    likelihood="bernoulli",
    hidden_layer_sizes=(128,),
    max_epochs=30,
    random_state=0,
).fit(X_train)

target = X_test[np.flatnonzero(y_test == 8)[0]]  # an "8" from the held-out images


def objective(image):
    """Negative squared distance to the target image (maximised)."""
    return -float(np.sum((np.asarray(image) - target) ** 2))


# 10 initial training images, none of them an 8
rng = np.random.RandomState(0)
initial = X_train[rng.choice(np.flatnonzero(y_train != 8), 10, replace=False)]
initial_values = np.array([objective(x) for x in initial])

# %%
# Run the three searches
# ----------------------
n_calls = 40
common = dict(n_calls=n_calls, random_state=0)
fixed = LatentBayesSearch(vae, objective, **common).fit(initial, initial_values)
lra = LatentBayesSearch(
    vae, objective, retrain_every=10, retrain_epochs=3, weight_k=1e-2, **common
).fit(initial, initial_values, train_objects=X_train)

Z_random = np.random.RandomState(0).standard_normal((n_calls, vae.n_components))
random_values = np.array([objective(x) for x in vae.inverse_transform(Z_random)])

print(f"best of the 10 initial images: {initial_values.max():.2f}")
print(f"random prior samples:          {random_values.max():.2f}")
print(f"LSBO, fixed VAE:               {fixed.best_score_:.2f}")
print(f"LSBO, LRA retraining:          {lra.best_score_:.2f}")
print(f"retraining rounds: {lra.n_retrain_rounds_}")

# %%
# Convergence
# -----------
# ``result_`` follows scikit-optimize's minimisation convention
# (``func_vals = -values``), so :func:`skopt.plots.plot_convergence` shows the
# best *distance* so far; the first 10 calls are the initial images.
fig, ax = plt.subplots(figsize=(6.5, 4))
plot_convergence(("fixed VAE", fixed.result_), ("LRA retraining", lra.result_), ax=ax)
ax.plot(
    np.arange(11, 11 + n_calls),
    -np.fmax.accumulate(np.fmax(random_values, initial_values.max())),
    "k--",
    label="random prior samples",
)
ax.axvline(10.5, color="grey", ls=":")
ax.set_ylabel("best squared distance to the target so far")
ax.legend()
fig.tight_layout()

# %%
# Best images and latent consistency of the queries
# -------------------------------------------------
# ``history_`` holds one row per evaluation, including the latent
# reconstruction error (LRE) of each query: how far ``encode(decode(z))``
# lands from ``z``. Retraining with the reference centred on the queries
# is meant to lower it where the search goes.
fig, axes = plt.subplots(1, 5, figsize=(9, 2.4))
images = [
    ("target", target),
    ("best initial", initial[np.argmax(initial_values)]),
    ("random", vae.inverse_transform(Z_random[[np.argmax(random_values)]])[0]),
    ("fixed VAE", fixed.best_object_),
    ("LRA retraining", lra.best_object_),
]
for ax, (title, image) in zip(axes, images):
    ax.imshow(np.asarray(image).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.tight_layout()

fig, ax = plt.subplots(figsize=(6.5, 3))
for name, search in [("fixed VAE", fixed), ("LRA retraining", lra)]:
    ax.plot([h["lre"] for h in search.history_], "o-", ms=3, label=name)
for k in range(10, n_calls, 10):
    ax.axvline(k - 0.5, color="grey", ls=":", lw=0.8)
ax.set_xlabel("evaluation")
ax.set_ylabel("LRE of the query")
ax.set_yscale("log")
ax.legend()
fig.tight_layout()
plt.show()
