"""Molecular objectives (RDKit), vectorised over lists of SMILES.

Every function takes a list (or 1-D array) of SMILES and returns a float64
array of the same length, with ``NaN`` where a SMILES is missing, empty or
not parseable by RDKit. ``n_jobs`` spreads the work over processes with
:mod:`joblib` (worth it from a few thousand molecules on).
"""

import functools
import importlib.util
import math
import os

import networkx as nx
import numpy as np
from joblib import Parallel, delayed
from rdkit import Chem
from rdkit.Chem import QED, Crippen, RDConfig

from ._smiles import check_smiles_list, mol_from_smiles, rdkit_quiet

__all__ = ["logp", "penalized_logp", "qed", "sa_score"]

#: ZINC250k statistics of the penalised-logP terms (``250k_rndm_zinc_drugs_clean``),
#: as used by JT-VAE, GCPN, GraphAF and the LSBO literature (e.g. Tripp et al. 2020).
ZINC250K_STATS = {
    "logp_mean": 2.4570953396190123,
    "logp_std": 1.434324401111988,
    "sa_mean": -3.0525811293166134,  # of -SA
    "sa_std": 0.8335207024513095,
    "cycle_mean": -0.0485696876403053,  # of -cycle penalty
    "cycle_std": 0.2860212110245455,
}


@functools.cache
def _sascorer():
    """RDKit's bundled SA_Score module (``RDConfig.RDContribDir/SA_Score``)."""
    path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
    if not os.path.exists(path):  # pragma: no cover - depends on the RDKit build
        raise ImportError(
            f"RDKit's SA_Score contribution was not found at {path}; install an RDKit "
            "build that ships Contrib (e.g. `pip install rdkit`)."
        )
    spec = importlib.util.spec_from_file_location("_lravae_sascorer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cycle_penalty(mol):
    """``max(0, largest ring size - 6)``, rings from networkx's cycle basis (JT-VAE)."""
    graph = nx.Graph(Chem.rdmolops.GetAdjacencyMatrix(mol))
    largest = max((len(c) for c in nx.cycle_basis(graph)), default=0)
    return max(largest - 6, 0)


def _qed(mol):
    return QED.qed(mol)


def _logp(mol):
    return Crippen.MolLogP(mol)


def _sa(mol):
    return _sascorer().calculateScore(mol)


def _plogp(mol, standardize):
    log_p, sa, cycle = Crippen.MolLogP(mol), _sa(mol), _cycle_penalty(mol)
    if not standardize:
        return log_p - sa - cycle
    s = ZINC250K_STATS
    return (
        (log_p - s["logp_mean"]) / s["logp_std"]
        + (-sa - s["sa_mean"]) / s["sa_std"]
        + (-cycle - s["cycle_mean"]) / s["cycle_std"]
    )


def _score_chunk(fn, smiles):
    out = np.full(len(smiles), np.nan)
    with rdkit_quiet():
        for i, smi in enumerate(smiles):
            mol = mol_from_smiles(smi)
            if mol is not None:
                try:
                    out[i] = fn(mol)
                except (ValueError, RuntimeError, ZeroDivisionError):
                    out[i] = math.nan
    return out


def map_smiles(fn, smiles, n_jobs):
    smiles = check_smiles_list(smiles)
    if n_jobs in (None, 1) or len(smiles) < 2:
        return _score_chunk(fn, smiles)
    n_chunks = min(len(smiles), 4 * max(os.cpu_count() or 1, 1))
    chunks = np.array_split(np.arange(len(smiles)), n_chunks)
    parts = Parallel(n_jobs=n_jobs)(
        delayed(_score_chunk)(fn, [smiles[i] for i in c]) for c in chunks
    )
    return np.concatenate(parts)


def qed(smiles, n_jobs=None):
    """Quantitative estimate of drug-likeness (RDKit ``QED.qed``), in [0, 1].

    Parameters
    ----------
    smiles : list or array-like of str of shape (n_samples,)
        Molecules.
    n_jobs : int or None, default=None
        Processes for :class:`joblib.Parallel` (None or 1: serial, -1: all).

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        QED, NaN for invalid SMILES.

    Examples
    --------
    >>> from sklearn_lravae.chem import qed
    >>> qed(["CCO", "not a molecule"]).round(4)
    array([0.4068,    nan])
    """
    return map_smiles(_qed, smiles, n_jobs)


def logp(smiles, n_jobs=None):
    """Wildman-Crippen octanol/water logP (RDKit ``Crippen.MolLogP``).

    Parameters
    ----------
    smiles : list or array-like of str of shape (n_samples,)
        Molecules.
    n_jobs : int or None, default=None
        Processes for :class:`joblib.Parallel`.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Crippen logP, NaN for invalid SMILES.

    Examples
    --------
    >>> from sklearn_lravae.chem import logp
    >>> logp(["CCO", "c1ccccc1"]).round(4).tolist()
    [-0.0014, 1.6866]
    """
    return map_smiles(_logp, smiles, n_jobs)


def sa_score(smiles, n_jobs=None):
    """Synthetic accessibility score of Ertl & Schuffenhauer (2009).

    Uses the implementation RDKit ships in
    ``RDConfig.RDContribDir/SA_Score/sascorer.py``. Scores lie in [1, 10];
    lower is easier to synthesise.

    Parameters
    ----------
    smiles : list or array-like of str of shape (n_samples,)
        Molecules.
    n_jobs : int or None, default=None
        Processes for :class:`joblib.Parallel`.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        SA score, NaN for invalid SMILES.

    Examples
    --------
    >>> from sklearn_lravae.chem import sa_score
    >>> sa_score(["CCO", "c1ccccc1", ""]).round(3).tolist()
    [1.98, 1.0, nan]
    """
    return map_smiles(_sa, smiles, n_jobs)


def penalized_logp(smiles, standardize=False, n_jobs=None):
    """Penalised logP: ``logP - SA - cycle penalty`` (Kusner et al. 2017).

    ``logP`` is Crippen's (:func:`logp`), ``SA`` the synthetic accessibility
    score (:func:`sa_score`) and the cycle penalty ``max(0, L - 6)`` where
    ``L`` is the size of the largest ring, with rings taken from
    ``networkx.cycle_basis`` of the molecular graph as in the JT-VAE
    reference code.

    Two normalisations are common and both are offered:

    - ``standardize=False`` (default): the raw sum ``logP - SA - penalty``
      (as in e.g. GuacaMol-style and "unnormalised" reports);
    - ``standardize=True``: each term standardised with the ZINC250k
      statistics used by JT-VAE, GCPN, GraphAF and the LSBO literature
      (Tripp et al. 2020 report 19.66 with this variant):
      ``(logP - 2.4571) / 1.4343 + (-SA + 3.0526) / 0.8335
      + (-penalty + 0.0486) / 0.2860``.

    Parameters
    ----------
    smiles : list or array-like of str of shape (n_samples,)
        Molecules.
    standardize : bool, default=False
        Standardise each term with ZINC250k statistics.
    n_jobs : int or None, default=None
        Processes for :class:`joblib.Parallel`.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Penalised logP, NaN for invalid SMILES.

    Examples
    --------
    >>> from sklearn_lravae.chem import penalized_logp
    >>> penalized_logp(["c1ccccc1", "C1CCCCCCC1"]).round(3).tolist()
    [0.687, 0.121]
    >>> penalized_logp(["c1ccccc1"], standardize=True).round(3).tolist()
    [2.095]
    """
    if not isinstance(standardize, bool | np.bool_):
        raise TypeError(f"standardize must be True or False, got {standardize!r}.")
    return map_smiles(functools.partial(_plogp, standardize=bool(standardize)), smiles, n_jobs)
