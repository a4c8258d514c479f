"""Safe persistence: ``save(obj, path)`` / ``load(path)`` without pickle.

A saved model is a zip file holding

- ``manifest.json``: format version, package / torch / scikit-learn versions
  and the object tree: for every estimator its class path, constructor
  parameters and fitted attributes, encoded as JSON;
- ``arrays.npz``: NumPy arrays referenced from the manifest (read with
  ``allow_pickle=False``);
- ``torch-<i>.pt``: state dicts of torch modules and optimisers (read with
  ``torch.load(weights_only=True)``).

Loading never executes code from the file: classes are looked up only in an
allowlist of modules (``sklearn_lravae``, scikit-learn's preprocessing,
pipeline, decomposition and feature-selection modules, ``torch.optim``), no
pickle is read, and the torch files may only hold tensors.
"""

import importlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.base import BaseEstimator

from ._version import __version__

__all__ = ["load", "save"]

FORMAT = "sklearn-lravae-model"
FORMAT_VERSION = 1
ALLOWED_MODULE_PREFIXES = (
    "sklearn_lravae.",
    "sklearn.preprocessing.",
    "sklearn.pipeline",
    "sklearn.decomposition.",
    "sklearn.feature_selection.",
    "sklearn.impute.",
    "torch.optim.",
)


class _Writer:
    def __init__(self):
        self.arrays = {}
        self.torch = {}

    def array(self, a):
        a = np.asarray(a)
        if a.dtype == object:
            items = a.tolist()
            if all(isinstance(x, str) for x in np.ravel(a)):
                a = np.asarray(items, dtype=str)
            else:
                raise TypeError("cannot save an object array that does not hold only strings")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = a
        return {"__ndarray__": key}

    def tensors(self, state):
        key = f"torch-{len(self.torch)}.pt"
        self.torch[key] = state
        return {"__torch__": key}

    def encode(self, v):
        if v is None or isinstance(v, bool | int | float | str):
            return v
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, np.ndarray):
            return self.array(v)
        if isinstance(v, tuple):
            return {"__tuple__": [self.encode(x) for x in v]}
        if isinstance(v, list):
            return [self.encode(x) for x in v]
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                return {"__items__": [[self.encode(k), self.encode(x)] for k, x in v.items()]}
            return {"__dict__": {k: self.encode(x) for k, x in v.items()}}
        if isinstance(v, type) and issubclass(v, np.generic):
            return {"__nptype__": np.dtype(v).name}
        if isinstance(v, type):
            return {"__type__": _class_path(v)}
        if isinstance(v, np.dtype):
            return {"__dtype__": v.str}
        if isinstance(v, torch.device):
            return str(v)
        if isinstance(v, BaseEstimator):
            return self.estimator(v)
        from .reference import BaseReference

        if isinstance(v, BaseReference):
            params = {k: self.encode(x) for k, x in v._params().items()}
            return {"__reference__": _class_path(type(v)), "params": params}
        raise TypeError(
            f"cannot save a value of type {type(v).__name__}; sklearn_lravae.save supports "
            "estimators, references, arrays and plain Python values."
        )

    def estimator(self, est):
        from ._transformer import LRAVAETransformer

        params = est.get_params(deep=False)
        fitted = {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}
        entry = {"__estimator__": _class_path(type(est))}
        if isinstance(est, LRAVAETransformer):
            if params["module"] is not None:
                raise TypeError(
                    "cannot save an LRAVAETransformer with a custom module: its code cannot "
                    "be stored safely. Use the built-in cores or save the state dict yourself."
                )
            if params["callbacks"]:
                raise TypeError("cannot save callbacks; set callbacks=None before saving.")
            net = fitted.pop("net_", None)
            if net is not None:
                lik = net.module_.likelihood
                entry["net"] = {
                    "likelihood": lik.name,
                    "n_categories": getattr(lik, "n_categories", None),
                    "module": self.tensors(net.module_.state_dict()),
                    "optimizer": self.tensors(net.optimizer_.state_dict()),
                    "seed": est._seed,
                }
        entry["params"] = {k: self.encode(v) for k, v in params.items()}
        entry["fitted"] = {k: self.encode(v) for k, v in fitted.items()}
        return entry


def _class_path(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _resolve(path, base=None):
    module_name, _, name = path.rpartition(".")
    if not any(
        (module_name + ".").startswith(p) or module_name == p.rstrip(".")
        for p in ALLOWED_MODULE_PREFIXES
    ):
        raise ValueError(
            f"refusing to load {path!r}: only classes from sklearn_lravae, scikit-learn "
            "preprocessing/pipeline/decomposition modules and torch.optim can be loaded."
        )
    obj = getattr(importlib.import_module(module_name), name, None)
    if not isinstance(obj, type) or (base is not None and not issubclass(obj, base)):
        raise ValueError(f"refusing to load {path!r}: not an allowed class.")
    return obj


class _Reader:
    def __init__(self, zf):
        self.zf = zf
        self._arrays = None

    def arrays(self):
        if self._arrays is None:
            with self.zf.open("arrays.npz") as fh:
                data = np.load(io.BytesIO(fh.read()), allow_pickle=False)
                self._arrays = {k: data[k] for k in data.files}
        return self._arrays

    def tensors(self, ref):
        with self.zf.open(ref["__torch__"]) as fh:
            buf = io.BytesIO(fh.read())
        try:
            return torch.load(buf, weights_only=True, map_location="cpu")
        except Exception as exc:
            raise ValueError(
                f"refusing to load {ref['__torch__']}: it holds more than tensors ({exc})."
            ) from None

    def decode(self, v):
        if v is None or isinstance(v, bool | int | float | str):
            return v
        if isinstance(v, list):
            return [self.decode(x) for x in v]
        if not isinstance(v, dict):
            raise ValueError(f"malformed model file: unexpected {type(v).__name__}")
        if "__ndarray__" in v:
            return self.arrays()[v["__ndarray__"]]
        if "__tuple__" in v:
            return tuple(self.decode(x) for x in v["__tuple__"])
        if "__dict__" in v:
            return {k: self.decode(x) for k, x in v["__dict__"].items()}
        if "__items__" in v:
            return {self.decode(k): self.decode(x) for k, x in v["__items__"]}
        if "__type__" in v:
            return _resolve(v["__type__"])
        if "__nptype__" in v:
            t = getattr(np, v["__nptype__"], None)
            if not (isinstance(t, type) and issubclass(t, np.generic)):
                raise ValueError(f"refusing to load numpy type {v['__nptype__']!r}")
            return t
        if "__dtype__" in v:
            return np.dtype(v["__dtype__"])
        if "__estimator__" in v:
            return self.estimator(v)
        if "__reference__" in v:
            from .reference import BaseReference

            cls = _resolve(v["__reference__"], BaseReference)
            return cls(**{k: self.decode(x) for k, x in v["params"].items()})
        raise ValueError(f"malformed model file: unknown entry {sorted(v)}")

    def estimator(self, entry):
        from ._likelihood import make_likelihood
        from ._transformer import LRAVAETransformer

        cls = _resolve(entry["__estimator__"], BaseEstimator)
        est = cls(**{k: self.decode(v) for k, v in entry["params"].items()})
        for k, v in entry["fitted"].items():
            setattr(est, k, self.decode(v))
        if issubclass(cls, LRAVAETransformer) and "net" in entry:
            info = entry["net"]
            n_cat = info["n_categories"] or "auto"
            est._likelihood_for_fit = make_likelihood(info["likelihood"], est.n_features_in_, n_cat)
            est._seed = int(info["seed"])
            with torch.random.fork_rng(devices=[]):
                est.net_ = est._make_net(est.n_features_in_)
                est.net_.initialize()
            est.net_.module_.load_state_dict(self.tensors(info["module"]))
            est.net_.optimizer_.load_state_dict(self.tensors(info["optimizer"]))
        return est


def save(obj, path):
    """Save a (fitted) estimator or Pipeline in a format that loads without pickle.

    Parameters
    ----------
    obj : estimator
        An :class:`~sklearn_lravae.LRAVAETransformer`, a
        :class:`~sklearn_lravae.chem.SelfiesVectorizer`, a scikit-learn
        preprocessing step or a Pipeline of these.
    path : str or os.PathLike
        Target file (a zip archive; ``.lravae`` is a good suffix).

    Returns
    -------
    path : pathlib.Path
        The written file.

    Raises
    ------
    TypeError
        For objects that cannot be stored without code (custom torch modules,
        callbacks, arbitrary Python objects).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_lravae import LRAVAETransformer, load, save
    >>> X = load_digits().data[:200] / 16
    >>> vae = LRAVAETransformer(2, likelihood="bernoulli", max_epochs=2, random_state=0).fit(X)
    >>> path = save(vae, os.path.join(tempfile.mkdtemp(), "vae.lravae"))
    >>> bool(np.array_equal(load(path).transform(X), vae.transform(X)))
    True
    """
    writer = _Writer()
    tree = writer.encode(obj)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": {
            "sklearn_lravae": __version__,
            "torch": torch.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
        },
        "object": tree,
    }
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=1))
        buf = io.BytesIO()
        np.savez(buf, **writer.arrays)
        zf.writestr("arrays.npz", buf.getvalue())
        for name, state in writer.torch.items():
            buf = io.BytesIO()
            torch.save(state, buf)
            zf.writestr(name, buf.getvalue())
    tmp.replace(path)
    return path


def load(path):
    """Load an object written by :func:`save`; never executes code from the file.

    Parameters
    ----------
    path : str or os.PathLike
        File written by :func:`save`.

    Returns
    -------
    obj : estimator
        The restored estimator; fitted ones give identical ``transform`` /
        ``inverse_transform`` outputs and can continue training with
        ``partial_fit`` (optimiser state included).

    Raises
    ------
    ValueError
        If the file is not a model file, comes from an incompatible format
        version, or references classes outside the allowlist.

    Examples
    --------
    >>> from sklearn_lravae import load
    >>> load(__file__)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ValueError: ... is not an sklearn-lravae model file
    """
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not an sklearn-lravae model file (not a zip archive).")
    with zipfile.ZipFile(path) as zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
        except (KeyError, json.JSONDecodeError) as exc:
            raise ValueError(
                f"{path} is not an sklearn-lravae model file (no valid manifest)."
            ) from exc
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{path} is not an sklearn-lravae model file.")
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{path} uses model format {version!r} (written by sklearn-lravae "
                f"{manifest.get('versions', {}).get('sklearn_lravae')}); this version reads "
                f"format {FORMAT_VERSION}. Load it with the matching sklearn-lravae version."
            )
        return _Reader(zf).decode(manifest["object"])
