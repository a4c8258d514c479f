"""Safe persistence: ``save(obj, path)`` / ``load(path)`` without pickle.

A saved model is a zip file holding

- ``manifest.json``: format version, package / torch / scikit-learn versions
  and the object tree: for every estimator its class path, constructor
  parameters and fitted attributes, encoded as JSON;
- ``arrays.npz``: NumPy arrays referenced from the manifest (read with
  ``allow_pickle=False``);
- ``torch-<i>.pt``: state dicts of torch modules and optimisers (read with
  ``torch.load(weights_only=True)``);
- ``history-<i>.json``: the skorch training history of each network.

Loading never executes code from the file: classes are looked up only in an
allowlist of modules (``sklearn_lravae``, scikit-learn's preprocessing,
pipeline, compose, decomposition, feature-selection and impute modules,
``torch.optim``), no pickle is read, and the torch files may only hold tensors.
"""

import functools
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import sklearn
import torch
from packaging.version import InvalidVersion, Version
from sklearn.base import BaseEstimator

from ._allowlist import (
    CORE_FACTORIES,
    allowed_path,
    check_attribute_name,
    class_path,
    is_builtin_core,
    resolve,
)
from ._utils import atomic_write
from ._version import __version__

__all__ = ["load", "save"]

FORMAT = "sklearn-lravae-model"
FORMAT_VERSION = 1


class _Writer:
    def __init__(self):
        self.arrays = {}
        self.files = {}

    def array(self, a):
        a = np.asarray(a)
        entry = {}
        if a.dtype == object:
            if not all(isinstance(x, str) for x in a.ravel()):
                raise TypeError(
                    "cannot save an object array that holds anything but strings; "
                    "sklearn_lravae.save stores numeric and string arrays only."
                )
            a = np.asarray(a.tolist(), dtype=str).reshape(a.shape)
            entry["object"] = True
        key = f"a{len(self.arrays)}"
        self.arrays[key] = a
        return {"__ndarray__": key, **entry}

    def file(self, prefix, suffix, content):
        name = f"{prefix}-{len(self.files)}{suffix}"
        self.files[name] = content
        return name

    def encode(self, v):
        if v is None or isinstance(v, bool | int | float | str):
            return v
        if isinstance(v, np.generic):
            if not isinstance(v, np.bool_ | np.number):
                raise TypeError(f"cannot save a NumPy scalar of dtype {v.dtype}.")
            return {"__npscalar__": v.dtype.str, "value": v.item()}
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
        if isinstance(v, slice):
            return {"__slice__": [self.encode(v.start), self.encode(v.stop), self.encode(v.step)]}
        if isinstance(v, type) and issubclass(v, np.generic):
            return {"__nptype__": np.dtype(v).name}
        if isinstance(v, type):
            return {"__type__": allowed_path(v)}
        if isinstance(v, np.dtype):
            return {"__dtype__": v.str}
        if isinstance(v, torch.device):
            return str(v)
        if isinstance(v, BaseEstimator):
            return self.estimator(v)
        from .reference import BaseReference

        if isinstance(v, BaseReference):
            params = {k: self.encode(x) for k, x in v._params().items()}
            return {"__reference__": allowed_path(type(v)), "params": params}
        raise TypeError(
            f"cannot save a value of type {type(v).__name__}; sklearn_lravae.save supports "
            "estimators, references, arrays and plain Python values."
        )

    def module(self, module):
        """Encode ``LRAVAETransformer(module=...)``: built-in core factories by value."""
        if module is None:
            return None
        if is_builtin_core(module):
            if isinstance(module, type):
                return {"__type__": class_path(module)}
            return {
                "__partial__": class_path(module.func),
                "args": [self.module(a) if callable(a) else self.encode(a) for a in module.args],
                "keywords": {
                    k: self.module(a) if callable(a) else self.encode(a)
                    for k, a in module.keywords.items()
                },
            }
        # A user's own core: its code cannot be stored; load(..., module=) supplies it.
        cls = module if isinstance(module, type) else type(module)
        return {"__user_module__": f"{cls.__module__}.{cls.__qualname__}"}

    def estimator(self, est):
        from ._transformer import LRAVAETransformer

        params = est.get_params(deep=False)
        state = {k: v for k, v in vars(est).items() if k not in params}
        entry = {"__estimator__": allowed_path(type(est))}
        if isinstance(est, LRAVAETransformer):
            if params["callbacks"]:
                raise TypeError(
                    "cannot save an LRAVAETransformer with callbacks (their code cannot be "
                    "stored safely); set_params(callbacks=None) before saving."
                )
            if state.pop("net_", None) is not None:
                net = est.get_network_state()
                history = json.dumps(_plain(net["history"]), allow_nan=True)
                entry["net"] = {
                    "likelihood": net["likelihood"],
                    "n_categories": net["n_categories"],
                    "module": self.tensors(net["module"]),
                    "optimizer": self.tensors(net["optimizer"]),
                    "history": self.file("history", ".json", history.encode()),
                }
            params = dict(params)
            entry["params"] = {"module": self.module(params.pop("module"))}
        else:
            entry["params"] = {}
        entry["params"].update({k: self.encode(v) for k, v in params.items()})
        entry["fitted"] = {k: self.encode(v) for k, v in state.items()}
        return entry

    def tensors(self, state):
        buf = io.BytesIO()
        torch.save(state, buf)
        return {"__torch__": self.file("torch", ".pt", buf.getvalue())}


def _plain(v):
    """JSON-compatible copy of a skorch history (NumPy scalars -> Python)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items() if _plain(x) is not _SKIP}
    if isinstance(v, list | tuple):
        return [x for x in map(_plain, v) if x is not _SKIP]
    if isinstance(v, np.generic):
        return v.item()
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return _SKIP


_SKIP = object()


class _Reader:
    def __init__(self, zf, module=None, device=None):
        self.zf = zf
        self.module = module
        self.device = device
        self._arrays = None

    def read(self, name):
        if not isinstance(name, str):
            raise ValueError(f"malformed model file: bad member name {name!r}.")
        return self.zf.read(name)

    def arrays(self):
        if self._arrays is None:
            data = np.load(io.BytesIO(self.read("arrays.npz")), allow_pickle=False)
            self._arrays = {k: data[k] for k in data.files}
        return self._arrays

    def tensors(self, ref):
        name = ref["__torch__"]
        data = io.BytesIO(self.read(name))
        try:
            return torch.load(data, weights_only=True, map_location="cpu")
        except Exception as exc:
            raise ValueError(
                f"refusing to load {name}: it holds more than tensors ({exc})."
            ) from None

    def decode(self, v):
        if v is None or isinstance(v, bool | int | float | str):
            return v
        if isinstance(v, list):
            return [self.decode(x) for x in v]
        if not isinstance(v, dict):
            raise ValueError(f"malformed model file: unexpected {type(v).__name__}")
        if "__ndarray__" in v:
            a = self.arrays()[v["__ndarray__"]]
            return a.astype(object) if v.get("object") else a
        if "__npscalar__" in v:
            dtype = np.dtype(v["__npscalar__"])
            if dtype.kind not in "biufc":
                raise ValueError(f"malformed model file: scalar dtype {dtype}")
            return dtype.type(v["value"])
        if "__tuple__" in v:
            return tuple(self.decode(x) for x in v["__tuple__"])
        if "__dict__" in v:
            return {k: self.decode(x) for k, x in v["__dict__"].items()}
        if "__items__" in v:
            return {self.decode(k): self.decode(x) for k, x in v["__items__"]}
        if "__slice__" in v:
            return slice(*(self.decode(x) for x in v["__slice__"]))
        if "__type__" in v:
            return resolve(v["__type__"])
        if "__nptype__" in v:
            t = getattr(np, str(v["__nptype__"]), None)
            if not (isinstance(t, type) and issubclass(t, np.generic)):
                raise ValueError(f"refusing to load numpy type {v['__nptype__']!r}")
            return t
        if "__dtype__" in v:
            dtype = np.dtype(v["__dtype__"])
            if dtype.hasobject:
                raise ValueError("refusing to load an object dtype.")
            return dtype
        if "__estimator__" in v:
            return self.estimator(v)
        if "__reference__" in v:
            from .reference import BaseReference

            cls = resolve(v["__reference__"], BaseReference)
            return cls(**{k: self.decode(x) for k, x in v["params"].items()})
        raise ValueError(f"malformed model file: unknown entry {sorted(v)}")

    def decode_module(self, v):
        if v is None:
            return None
        if "__user_module__" in v:
            if self.module is None:
                raise ValueError(
                    f"this model uses a custom module ({v['__user_module__']}), whose code "
                    "is not stored in the file: pass it again, load(path, module=...)."
                )
            return self.module
        if "__type__" in v:
            return resolve(v["__type__"], torch.nn.Module)
        if "__partial__" in v:
            fn = resolve(v["__partial__"], torch.nn.Module, functions=CORE_FACTORIES)
            args = [self._module_arg(a) for a in v["args"]]
            kwargs = {k: self._module_arg(a) for k, a in v["keywords"].items()}
            return functools.partial(fn, *args, **kwargs)
        raise ValueError(f"malformed model file: unknown module entry {sorted(v)}")

    def _module_arg(self, a):
        if isinstance(a, dict) and ({"__partial__", "__type__", "__user_module__"} & set(a)):
            return self.decode_module(a)
        return self.decode(a)

    def estimator(self, entry):
        from ._transformer import LRAVAETransformer

        cls = resolve(entry["__estimator__"], BaseEstimator)
        if not isinstance(entry["params"], dict) or not isinstance(entry["fitted"], dict):
            raise ValueError("malformed model file: params and fitted must be JSON objects.")
        raw = dict(entry["params"])
        module = None
        if issubclass(cls, LRAVAETransformer):
            module = self.decode_module(raw.pop("module", None))
            raw["module"] = None
            # files written before lre_decode existed were trained with the decoder mean
            raw.setdefault("lre_decode", "mean")
        params = {check_attribute_name(k): self.decode(v) for k, v in raw.items()}
        if self.device is not None and issubclass(cls, LRAVAETransformer):
            params["device"] = self.device
        est = cls(**params)
        for k, v in entry["fitted"].items():
            setattr(est, check_attribute_name(k), self.decode(v))
        if not issubclass(cls, LRAVAETransformer):
            return _check_params(est, self.zf.filename)
        est.module = module
        _check_params(est, self.zf.filename)
        if "net" in entry:
            info = entry["net"]
            history = json.loads(self.read(info["history"]))
            if not isinstance(history, list):
                raise ValueError("malformed model file: the training history is not a list.")
            est.set_network_state(
                {
                    "likelihood": info["likelihood"],
                    "n_categories": info["n_categories"],
                    "module": self.tensors(info["module"]),
                    "optimizer": self.tensors(info["optimizer"]),
                    "history": history,
                }
            )
        return est


def _check_params(est, path):
    """Refuse parameters the estimator itself would refuse (e.g. a negative ``gamma``)."""
    if hasattr(est, "_parameter_constraints"):
        try:
            est._validate_params()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: invalid parameter in the model file: {exc}") from None
    return est


def save(obj, path):
    """Save a (fitted) estimator or Pipeline in a format that loads without pickle.

    The file is a zip archive of JSON (class paths, parameters, fitted
    attributes), an ``.npz`` of arrays and tensor-only torch state dicts
    (network and optimiser), plus the package, torch, scikit-learn and NumPy
    versions that wrote it. :func:`load` restores it without running code
    from the file.

    Parameters
    ----------
    obj : estimator
        An :class:`~sklearn_lravae.LRAVAETransformer`, a
        :class:`~sklearn_lravae.chem.SelfiesVectorizer`, a scikit-learn
        preprocessing step or a Pipeline of these, fitted or not.
        Transformers built with the package's own cores (e.g.
        :func:`~sklearn_lravae.chem.make_straight_through_core`) are stored
        completely; a user-defined ``module`` is not (its code is not
        stored): pass it again to :func:`load`.
    path : str or os.PathLike
        Target file (a zip archive; ``.lravae`` is a good suffix). It is
        written to a temporary file first and then moved into place.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Raises
    ------
    TypeError
        For objects that cannot be stored without code (skorch callbacks,
        arbitrary Python objects, classes outside the loader's allowlist).

    See Also
    --------
    load : Read the file back.

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

    def write(fh):
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", json.dumps(manifest, indent=1, allow_nan=True))
            buf = io.BytesIO()
            np.savez(buf, **writer.arrays)
            zf.writestr("arrays.npz", buf.getvalue())
            for name, content in writer.files.items():
                zf.writestr(name, content)

    return atomic_write(path, write)


def _check_versions(path, manifest):
    versions = manifest.get("versions")
    versions = versions if isinstance(versions, dict) else {}
    written_by = versions.get("sklearn_lravae")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path} uses model format {version!r} (written by sklearn-lravae {written_by}); "
            f"this version ({__version__}) reads format {FORMAT_VERSION}. Load it with the "
            "matching sklearn-lravae version."
        )
    try:
        newer = Version(str(written_by)) > Version(__version__)
    except InvalidVersion:
        raise ValueError(
            f"{path}: malformed model file (package version {written_by!r})."
        ) from None
    if newer:
        raise ValueError(
            f"{path} was written by sklearn-lravae {written_by}, newer than the installed "
            f"{__version__}: upgrade sklearn-lravae to load it."
        )


def load(path, *, module=None, device=None):
    """Load an object written by :func:`save`; never executes code from the file.

    Only classes of an allowlist (``sklearn_lravae``, scikit-learn's
    preprocessing, pipeline, compose, decomposition, feature-selection and
    impute modules, ``torch.optim``) are instantiated, arrays are read with
    ``allow_pickle=False`` and torch files with ``weights_only=True``.

    Parameters
    ----------
    path : str or os.PathLike
        File written by :func:`save`.
    module : torch.nn.Module, callable or None, default=None
        The ``module`` of an :class:`~sklearn_lravae.LRAVAETransformer` that was
        fitted with a user-defined core (its code is not in the file). Its
        architecture must match the stored weights. Not needed for the
        package's built-in cores.
    device : str or None, default=None
        Put every :class:`~sklearn_lravae.LRAVAETransformer` on this torch
        device (e.g. ``"cpu"`` for a model trained on ``"cuda"``); None keeps
        the saved ``device`` parameter.

    Returns
    -------
    obj : estimator
        The restored estimator; fitted ones give identical ``transform`` /
        ``inverse_transform`` outputs and continue training with
        ``partial_fit`` exactly as the saved one would (optimiser state, seeds
        and training history are restored).

    Raises
    ------
    ValueError
        If the file is not a model file, is malformed, comes from another
        format version or a newer sklearn-lravae, references classes outside
        the allowlist, holds pickled objects, or needs ``module``.

    See Also
    --------
    save : Write a model file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_lravae import LRAVAETransformer, load, save
    >>> X = np.random.RandomState(0).normal(size=(100, 5))
    >>> pipe = make_pipeline(StandardScaler(), LRAVAETransformer(2, max_epochs=2, random_state=0))
    >>> path = save(pipe.fit(X), os.path.join(tempfile.mkdtemp(), "pipe.lravae"))
    >>> loaded = load(path)
    >>> [name for name, _ in loaded.steps]
    ['standardscaler', 'lravaetransformer']
    >>> Z = pipe.transform(X)
    >>> bool(np.array_equal(loaded.inverse_transform(Z), pipe.inverse_transform(Z)))
    True
    """
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not an sklearn-lravae model file (not a zip archive).")
    with zipfile.ZipFile(path) as zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
        except (KeyError, ValueError) as exc:
            raise ValueError(
                f"{path} is not an sklearn-lravae model file (no valid manifest)."
            ) from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"{path} is not an sklearn-lravae model file.")
        _check_versions(path, manifest)
        try:
            return _Reader(zf, module=module, device=device).decode(manifest["object"])
        except (KeyError, TypeError, AttributeError, IndexError, zipfile.BadZipFile) as exc:
            raise ValueError(
                f"{path}: malformed model file ({type(exc).__name__}: {exc})."
            ) from None
