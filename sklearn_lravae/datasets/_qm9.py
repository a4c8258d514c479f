"""QM9 SMILES bundled with the package."""

import importlib.resources

from ._smiles import read_smiles_bytes, subset_smiles

__all__ = ["load_qm9"]

QM9_N_MOLECULES = 133_885


def load_qm9(n_samples=None, *, random_state=None, return_index=False):
    """Load the SMILES of the 133,885 QM9 molecules (shipped with the package).

    The file (``sklearn_lravae/datasets/data/qm9.csv.gz``) comes from the
    ``aspuru-guzik-group/selfies`` repository (Apache-2.0; see
    ``LICENSE-QM9.txt`` next to it) and lists the molecules in QM9 index order:
    row ``i`` is molecule ``dsgdb9nsd_{i + 1:06d}``. QM9 (Ramakrishnan et al.,
    Sci. Data 2014) holds small organic molecules with up to 9 heavy atoms
    (C, N, O, F). No download is needed.

    Parameters
    ----------
    n_samples : int or None, default=None
        None returns all molecules in QM9 index order (which is sorted by size:
        do not take the first rows as a random sample); an int returns that
        many molecules drawn at random without replacement, in random order.
    random_state : int, RandomState instance or None, default=None
        Seed of the random subset.
    return_index : bool, default=False
        Also return the 0-based QM9 row numbers of the molecules.

    Returns
    -------
    smiles : ndarray of str of shape (n_samples,)
        SMILES strings (object dtype).
    index : ndarray of int of shape (n_samples,)
        QM9 row numbers; only when ``return_index=True``.

    Examples
    --------
    >>> from sklearn_lravae.datasets import load_qm9
    >>> smiles = load_qm9()
    >>> len(smiles), smiles[:3].tolist()
    (133885, ['C', 'N', 'O'])
    >>> load_qm9(n_samples=2, random_state=0).shape
    (2,)
    """
    resource = importlib.resources.files("sklearn_lravae.datasets") / "data" / "qm9.csv.gz"
    smiles = read_smiles_bytes(resource.read_bytes(), "the bundled qm9.csv.gz", column="smiles")
    smiles, index = subset_smiles(smiles, n_samples, random_state)
    return (smiles, index) if return_index else smiles
