"""Building blocks of the GuacaMol / PMO goal-directed objectives.

Each factory returns a :class:`MoleculeScorer`: a picklable callable that is
vectorised over SMILES like :func:`~sklearn_lravae.chem.qed` (``scorer(smiles,
n_jobs=None)`` -> float64 array, NaN for invalid SMILES) and can be combined with
others by :func:`mpo_score`. The definitions follow GuacaMol (Brown et al. 2019,
``guacamol/common_scoring_functions.py`` and ``guacamol/scoring_function.py``, MIT
licence) to the letter; the one deliberate difference is that an invalid molecule
scores NaN here where GuacaMol gives -1 and TDC's ``Oracle`` gives 0.
"""

import numbers
import re

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors, rdMolDescriptors

from ._fingerprints import check_fingerprint, fingerprint, tanimoto
from ._modifiers import ScoreModifier
from ._objectives import map_smiles
from ._smiles import mol_from_smiles

__all__ = [
    "DESCRIPTORS",
    "MoleculeScorer",
    "atom_count_score",
    "descriptor_score",
    "isomer_score",
    "mpo_score",
    "parse_formula",
    "smarts_score",
    "tanimoto_similarity",
]

MEAN_FUNCTIONS = ("geometric", "arithmetic")


def _num_atoms(mol):
    return Chem.AddHs(mol).GetNumAtoms()


#: Named descriptors of :func:`descriptor_score` (GuacaMol ``guacamol/utils/descriptors.py``).
DESCRIPTORS = {
    "logp": Descriptors.MolLogP,
    "tpsa": Descriptors.TPSA,
    "bertz": Descriptors.BertzCT,
    "mol_weight": Descriptors.MolWt,
    "qed": Descriptors.qed,
    "num_h_donors": Descriptors.NumHDonors,
    "num_h_acceptors": Descriptors.NumHAcceptors,
    "num_rotatable_bonds": Descriptors.NumRotatableBonds,
    "num_rings": rdMolDescriptors.CalcNumRings,
    "num_aromatic_rings": rdMolDescriptors.CalcNumAromaticRings,
    "num_atoms": _num_atoms,  # hydrogens included
}


def _check_modifier(modifier):
    if modifier is not None and not isinstance(modifier, ScoreModifier):
        raise TypeError(
            "modifier must be None or a ScoreModifier (e.g. chem.clipped_modifier(0.75)), "
            f"got {type(modifier).__name__}."
        )
    return modifier


def _target_mol(smiles, name="target"):
    if not isinstance(smiles, str):
        raise TypeError(f"{name} must be a SMILES string, got {type(smiles).__name__}.")
    mol = mol_from_smiles(smiles)
    if mol is None:
        raise ValueError(f"{name} {smiles!r} is not a valid SMILES.")
    return mol


def _mean(values, mean_function, weights=None):
    a = np.asarray(values, dtype=float)
    if weights is None:  # GuacaMol's formulas, bit for bit
        return a.prod() ** (1.0 / len(a)) if mean_function == "geometric" else a.sum() / len(a)
    w = np.asarray(weights, dtype=float)
    if mean_function == "geometric":
        return np.prod(a**w) ** (1.0 / w.sum())
    return (w * a).sum() / w.sum()


class MoleculeScorer:
    """Base class of the scorers: a per-molecule :meth:`score_mol`, vectorised by ``__call__``.

    Subclasses implement ``score_mol(mol) -> float`` for an RDKit molecule.
    Instances are picklable, so ``n_jobs`` works with any of them.
    """

    #: Scores a list of SMILES at once (read by the CLI and the search loop).
    vectorized = True

    def score_mol(self, mol):  # pragma: no cover - abstract
        """Score of one RDKit molecule (a float; may raise ValueError for an odd molecule)."""
        raise NotImplementedError

    def __call__(self, smiles, n_jobs=None):
        """Scores of a list of SMILES, float64 array, NaN for invalid molecules.

        Parameters
        ----------
        smiles : list or array-like of str of shape (n_samples,)
            Molecules.
        n_jobs : int or None, default=None
            Processes for :class:`joblib.Parallel` (None or 1: serial, -1: all).
        """
        return map_smiles(self.score_mol, smiles, n_jobs)

    def _modify(self, value):
        return value if self.modifier is None else self.modifier(value)


class _TanimotoScorer(MoleculeScorer):
    def __init__(self, target, fingerprint, modifier):
        self.target, self.fingerprint = target, check_fingerprint(fingerprint)
        self.modifier = _check_modifier(modifier)
        self._fp = self._target_fp()

    def _target_fp(self):
        return fingerprint(_target_mol(self.target), self.fingerprint)

    def __getstate__(self):  # fingerprints are rebuilt after unpickling
        return {k: v for k, v in self.__dict__.items() if k != "_fp"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._fp = self._target_fp()

    def score_mol(self, mol):
        return self._modify(tanimoto(fingerprint(mol, self.fingerprint), self._fp))

    def __repr__(self):
        return (
            f"tanimoto_similarity({self.target!r}, fingerprint={self.fingerprint!r}, "
            f"modifier={self.modifier!r})"
        )


def tanimoto_similarity(target, fingerprint="ECFP4", modifier=None):
    """Tanimoto similarity to ``target`` (GuacaMol ``TanimotoScoringFunction``).

    Parameters
    ----------
    target : str
        SMILES of the target molecule.
    fingerprint : {"ECFP4", "ECFP6", "FCFP4", "FCFP6", "AP", "PHCO", "PATH", "BPF", "BTF"}, \
default="ECFP4"
        Fingerprint type, as in GuacaMol: ECFP/FCFP are *count* Morgan fingerprints
        (radius 2 or 3, FCFP with feature invariants), AP atom-pair counts up to
        distance 10, PHCO Gobbi 2D pharmacophores, PATH RDKit path bits, BPF/BTF
        Sheridan's binding-property pairs / donor-acceptor triplets.
    modifier : ScoreModifier or None, default=None
        Applied to the similarity (e.g. :func:`clipped_modifier`).

    Returns
    -------
    scorer : MoleculeScorer
        ``scorer(smiles, n_jobs=None)`` -> similarities.

    Examples
    --------
    >>> from sklearn_lravae.chem import tanimoto_similarity
    >>> sim = tanimoto_similarity("CC(=O)Oc1ccccc1C(=O)O")
    >>> sim(["CC(=O)Oc1ccccc1C(=O)O", "OC(=O)c1ccccc1O", "??"]).round(4).tolist()
    [1.0, 0.5122, nan]
    """
    return _TanimotoScorer(target, fingerprint, modifier)


class _DescriptorScorer(MoleculeScorer):
    def __init__(self, descriptor, modifier):
        if isinstance(descriptor, str):
            if descriptor not in DESCRIPTORS:
                raise ValueError(
                    f"descriptor must be one of {sorted(DESCRIPTORS)} or a callable "
                    f"mol -> float, got {descriptor!r}."
                )
        elif not callable(descriptor):
            raise TypeError(
                f"descriptor must be a name or a callable mol -> float, got {descriptor!r}."
            )
        self.descriptor, self.modifier = descriptor, _check_modifier(modifier)

    def score_mol(self, mol):
        fn = DESCRIPTORS[self.descriptor] if isinstance(self.descriptor, str) else self.descriptor
        return self._modify(fn(mol))

    def __repr__(self):
        return f"descriptor_score({self.descriptor!r}, modifier={self.modifier!r})"


def descriptor_score(descriptor, modifier=None):
    """An RDKit descriptor, optionally passed through a modifier (``RdkitScoringFunction``).

    Parameters
    ----------
    descriptor : str or callable
        A name of ``chem.DESCRIPTORS`` (``"logp"``, ``"tpsa"``, ``"bertz"``,
        ``"mol_weight"``, ``"qed"``, ``"num_h_donors"``, ``"num_h_acceptors"``,
        ``"num_rotatable_bonds"``, ``"num_rings"``, ``"num_aromatic_rings"``,
        ``"num_atoms"``), or a picklable callable ``mol -> float``.
    modifier : ScoreModifier or None, default=None
        Applied to the descriptor value.

    Returns
    -------
    scorer : MoleculeScorer

    Examples
    --------
    >>> from sklearn_lravae.chem import descriptor_score, max_gaussian_modifier
    >>> descriptor_score("tpsa")(["CCO"]).round(2).tolist()
    [20.23]
    >>> descriptor_score("tpsa", max_gaussian_modifier(40, 20))(["CCO"]).round(4).tolist()
    [0.6135]
    """
    return _DescriptorScorer(descriptor, modifier)


class _AtomCountScorer(MoleculeScorer):
    def __init__(self, element, modifier):
        self.element, self.modifier = _check_element(element), _check_modifier(modifier)

    def score_mol(self, mol):
        if self.element == "H":  # implicit hydrogens become atoms
            mol = Chem.AddHs(mol)
        return self._modify(sum(1 for a in mol.GetAtoms() if a.GetSymbol() == self.element))

    def __repr__(self):
        return f"atom_count_score({self.element!r}, modifier={self.modifier!r})"


def _check_element(element):
    if not isinstance(element, str):
        raise TypeError(f"element must be a symbol such as 'F', got {element!r}.")
    try:
        Chem.GetPeriodicTable().GetAtomicNumber(element)
    except RuntimeError:
        raise ValueError(f"element {element!r} is not a chemical element symbol.") from None
    return element


def atom_count_score(element, modifier=None):
    """Number of atoms of one element, hydrogens counted for ``"H"`` (``AtomCounter``).

    Parameters
    ----------
    element : str
        Element symbol, e.g. ``"F"``.
    modifier : ScoreModifier or None, default=None
        Applied to the count.

    Returns
    -------
    scorer : MoleculeScorer

    Examples
    --------
    >>> from sklearn_lravae.chem import atom_count_score
    >>> atom_count_score("H")(["CCO", "FC(F)F"]).tolist()
    [6.0, 1.0]
    """
    return _AtomCountScorer(element, modifier)


class _SmartsScorer(MoleculeScorer):
    def __init__(self, smarts, inverse):
        if not isinstance(smarts, str) or Chem.MolFromSmarts(smarts) is None:
            raise ValueError(f"smarts must be a valid SMARTS string, got {smarts!r}.")
        if not isinstance(inverse, bool | np.bool_):
            raise TypeError(f"inverse must be True or False, got {inverse!r}.")
        self.smarts, self.inverse = smarts, bool(inverse)
        self._pattern = Chem.MolFromSmarts(smarts)

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_pattern"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._pattern = Chem.MolFromSmarts(self.smarts)

    def score_mol(self, mol):
        found = len(mol.GetSubstructMatches(self._pattern)) > 0
        return float(found != self.inverse)

    def __repr__(self):
        return f"smarts_score({self.smarts!r}, inverse={self.inverse})"


def smarts_score(smarts, inverse=False):
    """1 if the molecule matches ``smarts``, else 0 (``SMARTSScoringFunction``).

    Parameters
    ----------
    smarts : str
        Substructure pattern.
    inverse : bool, default=False
        Score 1 when the pattern is *absent* instead (an anti-pattern).

    Returns
    -------
    scorer : MoleculeScorer

    Examples
    --------
    >>> from sklearn_lravae.chem import smarts_score
    >>> smarts_score("c1ccccc1")(["Cc1ccccc1", "CCO"]).tolist()
    [1.0, 0.0]
    >>> smarts_score("c1ccccc1", inverse=True)(["Cc1ccccc1", "CCO"]).tolist()
    [0.0, 1.0]
    """
    return _SmartsScorer(smarts, inverse)


def parse_formula(formula):
    """``[(element, count), ...]`` of a molecular formula such as ``"C9H10N2O2PF2Cl"``.

    Parameters
    ----------
    formula : str
        Element symbols each followed by an optional count, every element once.

    Returns
    -------
    elements : list of tuple
        ``(element, count)`` pairs in the order of the formula.

    Examples
    --------
    >>> from sklearn_lravae.chem import parse_formula
    >>> parse_formula("C9H10N2O2PF2Cl")
    [('C', 9), ('H', 10), ('N', 2), ('O', 2), ('P', 1), ('F', 2), ('Cl', 1)]
    """
    if not isinstance(formula, str) or not re.fullmatch(r"([A-Z][a-z]?\d*)+", formula):
        raise ValueError(
            f"formula must be element symbols with optional counts, e.g. 'C7H8N2O2', "
            f"got {formula!r}."
        )
    parts = [(e, int(n) if n else 1) for e, n in re.findall(r"([A-Z][a-z]?)(\d*)", formula)]
    seen = [e for e, _ in parts]
    for element in seen:
        _check_element(element)
    if len(set(seen)) != len(seen):
        raise ValueError(f"formula {formula!r} names an element twice; merge the counts.")
    return parts


class _IsomerScorer(MoleculeScorer):
    def __init__(self, formula, mean_function):
        if mean_function not in MEAN_FUNCTIONS:
            raise ValueError(
                f"mean_function must be one of {MEAN_FUNCTIONS}, got {mean_function!r}."
            )
        self.formula, self.mean_function = formula, mean_function
        self._terms = parse_formula(formula)
        self._total = sum(n for _, n in self._terms)

    def score_mol(self, mol):
        with_h = Chem.AddHs(mol)
        symbols = [a.GetSymbol() for a in with_h.GetAtoms()]
        scores = [_gauss(symbols.count(e), n, 1.0) for e, n in self._terms]
        scores.append(_gauss(len(symbols), self._total, 2.0))
        return _mean(scores, self.mean_function)

    def __repr__(self):
        return f"isomer_score({self.formula!r}, mean_function={self.mean_function!r})"


def _gauss(x, mu, sigma):
    return np.exp(-0.5 * np.power((x - mu) / sigma, 2.0))


def isomer_score(formula, mean_function="geometric"):
    """Closeness to a molecular formula (GuacaMol ``IsomerScoringFunction``).

    The mean of a Gaussian score (``sigma=1``) of the count of each element of
    the formula and one (``sigma=2``) of the total number of atoms, hydrogens
    included. Elements absent from the formula only enter through the total.
    TDC's ``Isomer_scoring`` reads the total from ``CalcMolFormula`` instead of
    counting atoms; the two agree.

    Parameters
    ----------
    formula : str
        Target formula, e.g. ``"C7H8N2O2"``.
    mean_function : {"geometric", "arithmetic"}, default="geometric"
        How the per-element scores are averaged.

    Returns
    -------
    scorer : MoleculeScorer
        Scores in [0, 1]; exactly 1 for every isomer of ``formula``.

    Examples
    --------
    >>> from sklearn_lravae.chem import isomer_score
    >>> score = isomer_score("C2H6O")
    >>> score(["CCO", "COC", "CCCO"]).round(4).tolist()
    [1.0, 1.0, 0.404]
    >>> isomer_score("C2H6O", mean_function="arithmetic")(["CCCO"]).round(4).tolist()
    [0.5166]
    """
    return _IsomerScorer(formula, mean_function)


class _MPOScorer(MoleculeScorer):
    def __init__(self, scorers, mean_function, weights):
        scorers = list(scorers) if isinstance(scorers, list | tuple) else None
        if not scorers or not all(isinstance(s, MoleculeScorer) for s in scorers):
            raise TypeError(
                "scorers must be a non-empty list of MoleculeScorer (from tanimoto_similarity, "
                "descriptor_score, smarts_score, isomer_score, ...)."
            )
        if mean_function not in MEAN_FUNCTIONS:
            raise ValueError(
                f"mean_function must be one of {MEAN_FUNCTIONS}, got {mean_function!r}."
            )
        if weights is not None:
            weights = [_check_weight(w) for w in weights]
            if len(weights) != len(scorers):
                raise ValueError(
                    f"weights must have one entry per scorer ({len(scorers)}), got {len(weights)}."
                )
        self.scorers, self.mean_function, self.weights = scorers, mean_function, weights

    def score_mol(self, mol):
        return _mean([s.score_mol(mol) for s in self.scorers], self.mean_function, self.weights)

    def __repr__(self):
        return (
            f"mpo_score({self.scorers!r}, mean_function={self.mean_function!r}, "
            f"weights={self.weights!r})"
        )


def _check_weight(w):
    if isinstance(w, bool) or not isinstance(w, numbers.Real) or not w > 0 or np.isinf(w):
        raise ValueError(f"weights must be finite positive numbers, got {w!r}.")
    return float(w)


def mpo_score(scorers, mean_function="geometric", weights=None):
    """Multi-property objective: the mean of several scorers' scores.

    GuacaMol's ``GeometricMeanScoringFunction`` (``prod(s) ** (1 / n)``) or
    ``ArithmeticMeanScoringFunction`` (``sum(w * s) / sum(w)``). A NaN in any
    term (an invalid molecule) gives NaN.

    Parameters
    ----------
    scorers : list of MoleculeScorer
        The terms, each usually scaled to [0, 1] by a modifier.
    mean_function : {"geometric", "arithmetic"}, default="geometric"
        Aggregation.
    weights : list of float or None, default=None
        Positive weights, one per scorer (the geometric mean becomes
        ``prod(s ** w) ** (1 / sum(w))``). None: equal weights.

    Returns
    -------
    scorer : MoleculeScorer

    Examples
    --------
    >>> from sklearn_lravae.chem import (descriptor_score, gaussian_modifier, mpo_score,
    ...                                  tanimoto_similarity)
    >>> score = mpo_score([
    ...     tanimoto_similarity("c1ccccc1O"),
    ...     descriptor_score("num_aromatic_rings", gaussian_modifier(2, 0.5)),
    ... ])
    >>> score(["c1ccccc1O", "c1ccc2ccccc2c1O"]).round(4).tolist()
    [0.3679, 0.6367]
    """
    return _MPOScorer(scorers, mean_function, weights)
