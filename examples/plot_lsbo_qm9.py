"""
===========================================================
Latent-space Bayesian optimisation of QED on QM9 molecules
===========================================================

A SELFIES vectoriser and an LRA-VAE map QM9 molecules to a latent space;
:class:`~sklearn_lravae.LatentBayesSearch` then asks a Gaussian process for
promising latent points, decodes them into molecules, scores them with RDKit's
QED and retrains the VAE around the queries every few evaluations. We compare
it with random sampling from the prior at the same budget.

Everything is small so that the example runs in well under a minute, and a
single seed of so short a run says little: here random prior samples happen
to find a higher QED than the search. See ``benchmarks/lsbo_molecules.py``
(and its results in ``benchmarks/results/``) for the comparison over seeds.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline
from skopt.plots import plot_convergence

from sklearn_lravae import LatentBayesSearch, LRAVAETransformer
from sklearn_lravae.chem import SelfiesVectorizer, qed
from sklearn_lravae.datasets import load_qm9

smiles = list(load_qm9(n_samples=3000, random_state=0))
pipe = make_pipeline(
    SelfiesVectorizer(),
    LRAVAETransformer(
        n_components=8,
        likelihood="categorical",
        gamma=0.1,
        beta=0.01,
        hidden_layer_sizes=(256, 128),
        max_epochs=20,
        random_state=0,
    ),
).fit(smiles)

# %%
# Start from 20 random QM9 molecules with known QED and search for 40 more.
initial = smiles[:20]
search = LatentBayesSearch(
    pipe,
    qed,
    vectorized=True,
    n_calls=40,
    bounds=2.0,
    retrain_every=20,
    retrain_epochs=2,
    random_state=0,
).fit(initial, qed(initial), train_objects=smiles)

print(f"best QED {search.best_score_:.3f}: {search.best_object_}")
print(f"initial best {max(qed(initial)):.3f}; retraining rounds: {search.n_retrain_rounds_}")

# %%
# Random sampling from the prior, same budget.
Z = np.random.RandomState(0).standard_normal((40, 8))
random_values = qed(list(pipe.inverse_transform(Z)))
print(f"best QED of 40 random prior samples: {np.nanmax(random_values):.3f}")

fig, ax = plt.subplots(figsize=(6, 4))
plot_convergence(search.result_, ax=ax)  # skopt minimises: curves show -QED
ax.plot(
    np.arange(21, 61),
    -np.fmax.accumulate(np.fmax(random_values, max(qed(initial)))),
    label="random prior samples",
)
ax.axvline(20.5, color="grey", ls=":", label="end of initial points")
ax.legend()
ax.set_title("LSBO on QM9 QED (lower = better: -QED)")
fig.tight_layout()
plt.show()
