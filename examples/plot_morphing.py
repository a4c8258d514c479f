"""
====================================================
Morphing digits: interpolation and extrapolation
====================================================

Walking in the latent space from one encoded image to another
(*interpolation*, ``0 <= t <= 1``) or beyond them (*extrapolation*, ``t < 0`` or
``t > 1``) along ``z(t) = z_a + t (z_b - z_a)`` visits regions the training
data never covered. There the decoder produces poor objects and the latent
reconstruction error ``LRE(z) = ||z - enc_mu(dec(z))||^2`` is high. An LRA-VAE
(``gamma > 0``) is trained to keep the LRE low on a broad reference
distribution ``N(0, 2^2 I)``; this example compares it with a standard VAE
(``gamma = 0``) on the digits data set: a picture grid of a few paths, and the
LRE and a classifier's confidence along the path averaged over many pairs.

The full-size study on MNIST and Fashion-MNIST is
``benchmarks/reproduce_images.py``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_lravae import LRAVAETransformer
from sklearn_lravae.metrics import CNNFeatureExtractor

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = X[:1400], X[1400:], y[:1400], y[1400:]

models = {
    gamma: LRAVAETransformer(
        n_components=8,
        gamma=gamma,
        reference=2.0,
        likelihood="bernoulli",
        hidden_layer_sizes=(128, 64),
        max_epochs=60,
        random_state=0,
    ).fit(X_train)
    for gamma in (0.0, 1.0)
}

# A small CNN trained on the same digits judges the decoded images.
cnn = CNNFeatureExtractor(n_hidden=32, max_epochs=10, batch_size=32, lr=3e-3, random_state=0)
cnn.fit(X_train, y_train)
print(f"classifier test accuracy: {cnn.score(X_test, y_test):.3f}")

# %%
# Paths between pairs of test images of different classes, t in [-1, 2].
rng = np.random.default_rng(0)
pairs = rng.choice(len(X_test), size=(400, 2))
pairs = pairs[y_test[pairs[:, 0]] != y_test[pairs[:, 1]]]
t = np.linspace(-1.0, 2.0, 31)


def along_path(vae, pairs):
    Z = vae.transform(X_test)
    za, zb = Z[pairs[:, 0]], Z[pairs[:, 1]]
    path = (za[:, None] + t[None, :, None] * (zb - za)[:, None]).reshape(-1, vae.n_components)
    lre = vae.latent_reconstruction_error(path).reshape(len(pairs), len(t))
    images = vae.inverse_transform(path)
    confidence = cnn.predict_proba(images).max(1).reshape(len(pairs), len(t))
    return lre, confidence, images.reshape(len(pairs), len(t), 8, 8)


results = {gamma: along_path(vae, pairs) for gamma, vae in models.items()}
inside = (t >= 0) & (t <= 1)
for gamma, (lre, conf, _) in results.items():
    print(
        f"gamma={gamma:g}: mean LRE interpolation {lre[:, inside].mean():.3f}, "
        f"extrapolation {lre[:, ~inside].mean():.3f}; classifier confidence "
        f"{conf[:, inside].mean():.3f} / {conf[:, ~inside].mean():.3f}"
    )

# %%
# Picture grid: for three pairs, the standard VAE (upper row) and the
# LRA-VAE (lower row); the blue frames mark interpolation (0 <= t <= 1).
shown = np.arange(0, 31, 3)
fig, axes = plt.subplots(6, len(shown), figsize=(0.8 * len(shown), 5.2))
for p in range(3):
    for k, gamma in enumerate(models):
        for j, i in enumerate(shown):
            ax = axes[2 * p + k, j]
            ax.imshow(results[gamma][2][p, i], cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if inside[i]:
                for spine in ax.spines.values():
                    spine.set(color="tab:blue", linewidth=1.5)
            if j == 0:
                ax.set_ylabel(f"gamma={gamma:g}", fontsize=7)
            if p == 0 and k == 0:
                ax.set_title(f"t={t[i]:g}", fontsize=7)
fig.suptitle("Morphing: gamma=0 (upper) vs gamma=1 (lower) for three pairs")
fig.tight_layout()

# %%
# LRE and classifier confidence along the path, averaged over all pairs.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for gamma, (lre, conf, _) in results.items():
    axes[0].plot(t, lre.mean(0), label=f"gamma={gamma:g}")
    axes[1].plot(t, conf.mean(0), label=f"gamma={gamma:g}")
for ax, title in zip(axes, ("mean LRE along the path", "mean classifier confidence")):
    ax.axvspan(0, 1, color="tab:blue", alpha=0.1)
    ax.set_xlabel("t   (z = z_a + t (z_b - z_a))")
    ax.set_title(title)
    ax.legend()
axes[0].set_yscale("log")
fig.tight_layout()
plt.show()
