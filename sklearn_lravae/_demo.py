"""The demo behind ``lravae demo`` / ``python -m sklearn_lravae demo``.

Fits a standard VAE (``gamma=0``) and an LRA-VAE (``gamma>0``) on scikit-learn's
bundled digits with the default training length (until the loss stops
improving), prints the epochs that ran, held-out ELBO, the mean latent
reconstruction error of latent samples from N(0, I) and N(0, 2^2 I) and the
accuracy of a logistic regression on the latent means (against PCA with as
many components), and writes a PNG of decoded samples. No download and no
external data are needed.
"""

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._transformer import LRAVAETransformer
from .metrics import mean_latent_reconstruction_error

__all__ = ["run_demo"]


def run_demo(output="lravae_demo.png", gamma=0.1, quick=False, random_state=0, verbose=True):
    """Compare a standard VAE with an LRA-VAE on the digits data set.

    Parameters
    ----------
    output : str or os.PathLike or None, default="lravae_demo.png"
        Where to write the PNG of decoded samples; None writes no figure.
    gamma : float, default=0.1
        LRE weight of the LRA-VAE (the baseline uses ``gamma=0``).
    quick : bool, default=False
        Three epochs (seconds instead of about a minute), for smoke tests.
    random_state : int, default=0
        Seed of the split, the training and the samples.
    verbose : bool, default=True
        Print the table.

    Returns
    -------
    results : dict
        ``{"gamma=0": row, "gamma=<g>": row, "PCA": row}``; the models' rows
        hold ``epochs``, ``elbo_test``, ``lre_scale1``, ``lre_scale2``,
        ``accuracy`` and ``fit_seconds``, PCA's ``accuracy`` only.

    Examples
    --------
    >>> from sklearn_lravae._demo import run_demo
    >>> res = run_demo(output=None, quick=True, verbose=False)
    >>> sorted(res)
    ['PCA', 'gamma=0', 'gamma=0.1']
    """
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, random_state=random_state, stratify=y
    )
    settings = dict(n_components=8, likelihood="bernoulli", random_state=random_state)
    if quick:
        settings["max_epochs"] = 3

    def accuracy(transformer):  # logistic regression on the (fitted) transformer's output
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        clf.fit(transformer.transform(X_train), y_train)
        return clf.score(transformer.transform(X_test), y_test)

    models, results = {}, {}
    for g in (0.0, gamma):
        name = f"gamma={g:g}"
        start = time.perf_counter()
        vae = LRAVAETransformer(gamma=g, **settings).fit(X_train)
        seconds = time.perf_counter() - start
        models[name] = vae
        results[name] = {
            "epochs": vae.n_iter_,
            "elbo_test": vae.score(X_test),
            "lre_scale1": mean_latent_reconstruction_error(vae, 1.0, 2000, random_state),
            "lre_scale2": mean_latent_reconstruction_error(vae, 2.0, 2000, random_state),
            "accuracy": accuracy(vae),
            "fit_seconds": seconds,
        }
    pca = PCA(settings["n_components"], random_state=0).fit(X_train)
    results["PCA"] = {"accuracy": accuracy(pca)}
    if verbose:
        _print_table(results, settings, len(X_train), len(X_test))
    if output is not None:
        _plot_samples(models, output, random_state)
        if verbose:
            print(f"\nwrote {output}")
    return results


def _print_table(results, settings, n_train, n_test):
    epochs = settings.get("max_epochs", "auto: until the loss stops improving")
    print(
        f"digits: {n_train} train / {n_test} test images, latent dim "
        f"{settings['n_components']}, max_epochs {epochs}\n"
    )
    header = (
        f"{'model':<12}{'epochs':>7}{'test ELBO':>11}{'LRE N(0,I)':>13}{'LRE N(0,4I)':>13}"
        f"{'LR acc':>8}{'fit s':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        if "elbo_test" not in r:
            print(f"{name:<12}{'':>7}{'':>11}{'':>13}{'':>13}{r['accuracy']:>8.3f}")
            continue
        print(
            f"{name:<12}{r['epochs']:>7}{r['elbo_test']:>11.2f}{r['lre_scale1']:>13.3f}"
            f"{r['lre_scale2']:>13.3f}{r['accuracy']:>8.3f}{r['fit_seconds']:>8.1f}"
        )
    print("\nLR acc: logistic regression on the latent means (PCA: on as many components)")


def _plot_samples(models, output, random_state, n=10):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rng = np.random.RandomState(random_state)
    d = next(iter(models.values())).n_components
    scales = (1.0, 2.0)
    Z = {s: s * rng.standard_normal((n, d)) for s in scales}  # same latents for both
    fig, axes = plt.subplots(
        len(models) * len(scales), n, figsize=(n * 0.8, len(models) * len(scales) * 0.95)
    )
    for i, (name, vae) in enumerate(models.items()):
        for j, s in enumerate(scales):
            row = i * len(scales) + j
            images = vae.inverse_transform(Z[s]).reshape(-1, 8, 8)
            for k, ax in enumerate(axes[row]):
                ax.imshow(images[k], cmap="gray_r", vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
            axes[row, 0].set_ylabel(f"{name}\nz~N(0,{s:g}²I)", fontsize=7, rotation=0, ha="right")
    fig.suptitle("Decoded samples: standard VAE vs LRA-VAE (same latent points)")
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)
