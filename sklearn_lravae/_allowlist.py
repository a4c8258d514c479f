"""What :func:`sklearn_lravae.load` may build: the allowlist of classes and functions.

A saved model names classes by their dotted path; loading imports only paths
under :data:`ALLOWED_MODULE_PREFIXES` (and the package's own network-core
factories in :data:`CORE_FACTORIES`), so a crafted file cannot make ``load``
import or call anything else.
"""

import functools
import importlib
import keyword
import types

import torch

__all__ = [
    "ALLOWED_MODULE_PREFIXES",
    "CORE_FACTORIES",
    "allowed_path",
    "check_allowed",
    "check_attribute_name",
    "class_path",
    "is_builtin_core",
    "resolve",
]

ALLOWED_MODULE_PREFIXES = (
    "sklearn_lravae.",
    "sklearn.preprocessing.",
    "sklearn.pipeline",
    "sklearn.compose.",
    "sklearn.decomposition.",
    "sklearn.feature_selection.",
    "sklearn.impute.",
    "torch.optim.",
)
# Functions (not classes) that may appear in a saved ``module=`` factory.
CORE_FACTORIES = frozenset({"sklearn_lravae._network._build_straight_through"})


def class_path(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def allowed_path(cls):
    """Class path of ``cls``; TypeError at save time when load() would refuse it."""
    path = class_path(cls)
    try:
        check_allowed(path)
    except ValueError:
        raise TypeError(
            f"cannot save an object of class {path}: load() only accepts classes from "
            "sklearn_lravae, scikit-learn's preprocessing/pipeline/compose/decomposition/"
            "feature_selection/impute modules and torch.optim."
        ) from None
    return path


def is_builtin_core(module):
    if isinstance(module, functools.partial):
        fn = module.func
        return (
            is_builtin_core(fn)
            and all(is_builtin_core(a) or not callable(a) for a in module.args)
            and all(is_builtin_core(a) or not callable(a) for a in module.keywords.values())
        )
    if isinstance(module, type):
        return issubclass(module, torch.nn.Module) and module.__module__.startswith(
            "sklearn_lravae."
        )
    return isinstance(module, types.FunctionType) and class_path(module) in CORE_FACTORIES


def check_allowed(path):
    if not isinstance(path, str):
        raise ValueError(f"malformed model file: class path {path!r} is not a string.")
    module_name = path.rpartition(".")[0]
    if not any(
        (module_name + ".").startswith(p) or module_name == p.rstrip(".")
        for p in ALLOWED_MODULE_PREFIXES
    ):
        raise ValueError(
            f"refusing to load {path!r}: only classes from sklearn_lravae, scikit-learn "
            "preprocessing/pipeline/compose/decomposition/feature_selection/impute modules "
            "and torch.optim can be loaded."
        )


def resolve(path, base=None, functions=frozenset()):
    """Look up an allowlisted class (or one of ``functions``) by its dotted path."""
    check_allowed(path)
    module_name, _, name = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), name, None)
    except ImportError:
        obj = None
    if path in functions and callable(obj):
        return obj
    if not isinstance(obj, type) or (base is not None and not issubclass(obj, base)):
        raise ValueError(f"refusing to load {path!r}: not an allowed class.")
    return obj


def check_attribute_name(name):
    if (
        not isinstance(name, str)
        or not name.isidentifier()
        or keyword.iskeyword(name)
        or (name.startswith("__") and name.endswith("__"))
    ):
        raise ValueError(f"malformed model file: bad attribute name {name!r}.")
    return name
