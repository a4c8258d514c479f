"""Write the offline intersphinx inventories ``docs/_intersphinx/<lib>.inv``.

The documentation links to Python, NumPy, SciPy, scikit-learn, PyTorch, skorch,
scikit-optimize, joblib and RDKit. Sphinx normally downloads each project's
``objects.inv``; the build machines cannot, so this script writes an equivalent
inventory for each library from

- the public names of the *installed* package (``__all__`` of a list of public
  modules, or the names a module defines), with the public methods of its
  classes, and
- the URL pattern under which that project's documentation publishes each
  name (e.g. ``modules/generated/<name>.html#<name>`` for scikit-learn), plus
  a few labels and glossary terms the docs use (``array_like``, ``iterable``).

The patterns are those of each project's current stable documentation; a name
whose page the project does not publish gives a link to a missing page, which
is why only documented modules are walked. ``conf.py`` uses the real
inventories when the sites are reachable and these files otherwise.

Run it after upgrading a library (it prints the number of entries per file)::

    python docs/_intersphinx/make_inventories.py            # every library
    python docs/_intersphinx/make_inventories.py torch numpy

Libraries that are not installed are skipped with a message. The format is
Sphinx's inventory version 2 (a four-line header, then zlib-compressed lines
``name domain:role priority uri display-name``).
"""

import importlib
import inspect
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: base URL (the intersphinx mapping's target) of each library's documentation
URLS = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "sklearn": "https://scikit-learn.org/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "skorch": "https://skorch.readthedocs.io/en/stable/",
    "skopt": "https://scikit-optimize.github.io/stable/",
    "joblib": "https://joblib.readthedocs.io/en/stable/",
    "rdkit": "https://www.rdkit.org/docs/",
}

#: the installed distribution whose version goes into each inventory's header
PROJECTS = {
    "python": ("Python", None),
    "numpy": ("NumPy", "numpy"),
    "scipy": ("SciPy", "scipy"),
    "sklearn": ("scikit-learn", "sklearn"),
    "torch": ("PyTorch", "torch"),
    "skorch": ("skorch", "skorch"),
    "skopt": ("scikit-optimize", "skopt"),
    "joblib": ("joblib", "joblib"),
    "rdkit": ("RDKit", "rdkit"),
}


# ----------------------------------------------------------------- walking packages
def _public_names(module):
    """Public names a module documents: ``__all__``, else the names it defines.

    Without ``__all__``, a name counts when its object comes from the module or
    one of its submodules (``torch.nn.Module`` comes from ``torch.nn.modules``).
    """
    names = getattr(module, "__all__", None)
    if names is not None:
        return [n for n in names if not n.startswith("_")]
    out = []
    for name, obj in vars(module).items():
        if name.startswith("_") or inspect.ismodule(obj):
            continue
        origin = getattr(obj, "__module__", None) or ""
        if origin == module.__name__ or origin.startswith(module.__name__ + "."):
            out.append(name)
    return out


def _role(obj):
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj):
        return "function"
    return "data"


def _methods(cls, inherited):
    """Public methods of ``cls`` (own ones only unless ``inherited``)."""
    names = dir(cls) if inherited else list(vars(cls))
    out = []
    for name in names:
        if name.startswith("_"):
            continue
        try:
            attr = inspect.getattr_static(cls, name)
        except AttributeError:
            continue
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if inspect.isfunction(attr) or inspect.ismethoddescriptor(attr):
            out.append(name)
    return sorted(set(out))


def walk(modules, uri, *, methods=None, inherited=False, own_only=None):
    """Entries ``(name, role, uri)`` for the public objects of ``modules``.

    Parameters
    ----------
    modules : list of str
        Public modules whose names are documented under ``<module>.<name>``.
    uri : callable
        ``uri(full_name, role, module_name)`` returning the page and anchor, or
        None to leave the object out.
    methods : callable or None, default=None
        ``methods(class_full_name)``: whether to list the class's methods.
    inherited : bool, default=False
        List inherited methods too (the project's class pages show them).
    own_only : str or None, default=None
        Keep only objects whose ``__module__`` starts with this prefix (leave
        out re-exported objects of other libraries).
    """
    entries = []
    for modname in modules:
        try:
            module = importlib.import_module(modname)
        except Exception as exc:  # an optional part of a library: skip it
            print(f"  skipped {modname}: {type(exc).__name__}", file=sys.stderr)
            continue
        target = uri(modname, "module", modname)
        if target:
            entries.append((modname, "module", target))
        for name in _public_names(module):
            obj = getattr(module, name, None)
            if obj is None or inspect.ismodule(obj):
                continue
            origin = getattr(obj, "__module__", None) or ""
            if own_only and not origin.startswith(own_only) and _role(obj) != "data":
                continue
            full, role = f"{modname}.{name}", _role(obj)
            target = uri(full, role, modname)
            if not target:
                continue
            entries.append((full, role, target))
            if role in ("class", "exception") and methods and methods(full):
                for meth in _methods(obj, inherited):
                    mt = uri(f"{full}.{meth}", "method", modname)
                    if mt:
                        entries.append((f"{full}.{meth}", "method", mt))
    return entries


def submodules(package, skip=("tests", "externals", "conftest", "setup")):
    """Names of the public (sub)modules of ``package``, itself included."""
    import pkgutil

    pkg = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(pkg.__path__, package + ".", onerror=lambda _: None):
        parts = info.name.split(".")
        if any(p.startswith("_") or p in skip for p in parts):
            continue
        names.append(info.name)
    return names


# ----------------------------------------------------------------- the libraries
def python_entries():
    import builtins

    # classes documented in stdtypes.html rather than functions.html
    stdtypes = {"str", "list", "dict", "tuple", "set", "frozenset", "range", "bytes"}
    stdtypes |= {"memoryview", "bytearray"}
    entries = []
    for name, obj in vars(builtins).items():
        if name.startswith("_"):
            continue
        role = _role(obj)
        if role == "exception":
            entries.append((name, role, "library/exceptions.html#$"))
        elif role == "class":
            page = "stdtypes" if name in stdtypes else "functions"
            entries.append((name, role, f"library/{page}.html#$"))
        elif role == "function" and name not in ("copyright", "credits", "exit", "license"):
            entries.append((name, role, "library/functions.html#$"))
    for name in ("None", "True", "False", "NotImplemented", "Ellipsis"):
        entries.append((name, "data", "library/constants.html#$"))
    modules = ["os", "os.path", "pathlib", "json", "csv", "gzip", "zipfile", "pickle"]
    modules += ["functools", "itertools", "collections", "contextlib", "argparse", "typing"]
    modules += ["concurrent.futures", "multiprocessing", "tempfile", "shutil", "warnings"]
    modules += ["time", "random", "math", "io", "importlib", "threading", "signal"]

    def uri(full, role, modname):
        page = f"library/{modname}.html"
        if role == "data":
            return None  # module constants are often undocumented
        return f"{page}#module-$" if role == "module" else f"{page}#$"

    own = walk(modules, uri, methods=lambda n: n in ("pathlib.Path", "os.PathLike"))
    # the standard library documents functools.partial and a few others as functions
    entries += [(n, "function" if n == "functools.partial" else r, u) for n, r, u in own]
    # public names missing from their module's __all__
    entries += [("os.PathLike", "class", "library/os.html#$")]
    entries += [("os.fspath", "function", "library/os.html#$")]
    labels = [("bltin-boolean-values", "library/stdtypes.html#$", "Boolean Values")]
    terms = ["iterable", "sequence", "generator", "callable", "path-like object"]
    terms += ["file object", "context manager", "mapping", "hashable"]
    return entries, labels, terms, "glossary.html#term-{}"


def numpy_entries():
    special = {
        "numpy.random.Generator": "reference/random/generator.html#$",
        "numpy.random.default_rng": "reference/random/generator.html#$",
        "numpy.random.RandomState": "reference/random/legacy.html#$",
        "numpy.random.SeedSequence": (
            "reference/random/bit_generators/generated/numpy.random.SeedSequence.html#$"
        ),
        "numpy.nan": "reference/constants.html#$",
        "numpy.inf": "reference/constants.html#$",
        "numpy.pi": "reference/constants.html#$",
        "numpy.e": "reference/constants.html#$",
        "numpy.newaxis": "reference/constants.html#$",
    }
    module_pages = {
        "numpy": "reference/index.html",
        "numpy.random": "reference/random/index.html",
        "numpy.linalg": "reference/routines.linalg.html",
        "numpy.fft": "reference/routines.fft.html",
    }
    import numpy as np

    def uri(full, role, modname):
        if role == "module":
            return f"{module_pages[full]}#module-$"
        if full in special:
            return special[full]
        name = full.rsplit(".", 1)[-1]
        obj = getattr(np, name, None) if modname == "numpy" else None
        if role == "data":
            return None  # only the constants above
        if inspect.isclass(obj) and issubclass(obj, np.generic):
            return "reference/arrays.scalars.html#$"  # scalar types: float32, int64, ...
        if modname == "numpy.random":
            return f"reference/random/generated/{full}.html#$"
        return f"reference/generated/{full}.html#$"

    def documented_methods(cls):
        return cls in ("numpy.ndarray", "numpy.random.Generator", "numpy.random.RandomState")

    entries = walk(list(module_pages), uri, methods=documented_methods)
    entries += [(n, "data", u) for n, u in special.items() if "generated" not in u]
    entries = [e for e in entries if e[1] != "data" or e[0] in special]
    labels = [("arrays.scalars", "reference/arrays.scalars.html#arrays-scalars", "Scalars")]
    terms = ["array_like", "array", "dtype", "broadcast", "ndarray"]
    return entries, labels, terms, "glossary.html#term-{}"


def scipy_entries():
    subs = ["cluster", "fft", "integrate", "interpolate", "linalg", "optimize", "signal"]
    subs += ["sparse", "sparse.linalg", "spatial", "spatial.distance", "special", "stats"]
    modules = [f"scipy.{s}" for s in subs]

    def uri(full, role, modname):
        if role == "module":
            return f"reference/{full.removeprefix('scipy.')}.html#module-$"
        return f"reference/generated/{full}.html#$"

    return walk(modules, uri, own_only="scipy"), [], [], None


def sklearn_entries():
    modules = [m for m in submodules("sklearn") if m != "sklearn"]
    modules = [m for m in modules if m.count(".") <= 2]

    def uri(full, role, modname):
        if role == "module":
            top = ".".join(full.split(".")[:2])
            return f"api/{top}.html#module-$"
        page = full if role != "method" else full.rsplit(".", 1)[0]
        return f"modules/generated/{page}.html#$"

    entries = walk(modules, uri, methods=lambda _: True, inherited=True, own_only="sklearn")
    terms = ["array-like", "sparse matrix", "estimator", "transformer", "random_state"]
    terms += ["n_jobs", "fit", "transform", "inverse_transform", "score", "predict"]
    terms += ["scorer", "cross-validation splitter", "meta-estimator", "pipeline"]
    terms += ["partial_fit", "warm_start", "get_params", "set_params", "clone", "callable"]
    terms += ["regressor", "classifier", "sample_weight", "X", "y"]
    return entries, [], terms, "glossary.html#term-{}"


def torch_entries():
    pages = {  # modules documented on one page (automodule) instead of generated/
        "torch.random": "random.html",
        "torch.utils.data": "data.html",
        "torch.distributions": "distributions.html",
        "torch.nn.init": "nn.init.html",
    }
    module_pages = {
        "torch": "torch.html",
        "torch.nn": "nn.html",
        "torch.nn.functional": "nn.functional.html",
        "torch.optim": "optim.html",
        "torch.cuda": "cuda.html",
        "torch.linalg": "linalg.html",
        **pages,
    }
    special = {
        "torch.Tensor": "tensors.html#$",
        "torch.device": "tensor_attributes.html#$",
        "torch.dtype": "tensor_attributes.html#$",
        "torch.layout": "tensor_attributes.html#$",
        "torch.memory_format": "tensor_attributes.html#$",
        "torch.Size": "size.html#$",
    }

    def uri(full, role, modname):
        if role == "module":
            return f"{module_pages[full]}#module-$"
        if role == "data":
            return None
        if full in special:
            return special[full]
        if modname in pages:
            return f"{pages[modname]}#$"
        if role == "method" and not full.startswith("torch.Tensor."):
            return f"generated/{full.rsplit('.', 1)[0]}.html#$"  # anchor on the class page
        return f"generated/{full}.html#$"

    def documented_methods(cls):
        return cls in ("torch.Tensor", "torch.nn.Module", "torch.optim.Optimizer")

    entries = walk(list(module_pages), uri, methods=documented_methods)
    entries += [(n, "class", u) for n, u in special.items() if n != "torch.Tensor"]
    return entries, [], [], None


def skorch_entries():
    subs = ["net", "classifier", "regressor", "callbacks", "dataset", "helper", "history"]
    subs += ["probabilistic", "scoring", "toy", "utils", "exceptions"]

    def uri(full, role, modname):
        page = modname.removeprefix("skorch.") + ".html"
        return f"{page}#module-$" if role == "module" else f"{page}#$"

    entries = walk([f"skorch.{s}" for s in subs], uri, methods=lambda _: True)
    return entries, [], [], None


def skopt_entries():
    subs = ["acquisition", "benchmarks", "callbacks", "learning", "optimizer", "plots"]
    subs += ["sampler", "space", "utils"]
    modules = ["skopt"] + [f"skopt.{s}" for s in subs]

    def uri(full, role, modname):
        if role == "module":
            return "modules/classes.html#module-$"
        page = full if role != "method" else full.rsplit(".", 1)[0]
        return f"modules/generated/{page}.html#$"

    entries = walk(modules, uri, methods=lambda _: True, inherited=True, own_only="skopt")
    return entries, [], [], None


def joblib_entries():
    def uri(full, role, modname):
        if role == "module":
            return None
        page = full if role != "method" else full.rsplit(".", 1)[0]
        return f"generated/{page}.html#$"

    return walk(["joblib"], uri, methods=lambda _: True), [], [], None


def rdkit_entries():
    modules = ["rdkit.Chem", "rdkit.Chem.rdchem", "rdkit.Chem.rdmolfiles", "rdkit.Chem.QED"]
    modules += ["rdkit.Chem.Crippen", "rdkit.Chem.Descriptors", "rdkit.Chem.rdMolDescriptors"]
    modules += ["rdkit.Chem.rdFingerprintGenerator", "rdkit.DataStructs", "rdkit.RDLogger"]
    entries = []
    for full, role, _ in walk(modules, lambda *a: "-", own_only="rdkit"):
        # RDKit documents each object under the (often compiled) module defining it
        if role == "module":
            entries.append((full, role, f"source/{full}.html#module-$"))
            continue
        owner = full.rsplit(".", 1)[0] if role == "method" else None
        obj = _resolve(owner or full)
        home = getattr(obj, "__module__", None)
        if not home or not home.startswith("rdkit"):
            continue
        leaf = full.rsplit(".", 2 if owner else 1)[1:]
        canonical = ".".join([home, *leaf])
        entries.append((canonical, role, f"source/{home}.html#$"))
    return sorted(set(entries)), [], [], None


def _resolve(full):
    module, _, name = full.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


LIBRARIES = {
    "python": python_entries,
    "numpy": numpy_entries,
    "scipy": scipy_entries,
    "sklearn": sklearn_entries,
    "torch": torch_entries,
    "skorch": skorch_entries,
    "skopt": skopt_entries,
    "joblib": joblib_entries,
    "rdkit": rdkit_entries,
}


# ----------------------------------------------------------------- writing
def write_inventory(path, project, version, entries, labels=(), terms=(), term_uri=None):
    """Write a Sphinx version-2 inventory and return its number of entries."""
    lines = set()
    for name, role, uri in entries:
        if " " in name:
            continue
        lines.add(f"{name} py:{role} 1 {uri} -")
    for name, uri, title in labels:
        lines.add(f"{name} std:label -1 {uri} {title}")
    for term in terms:
        anchor = term_uri.format(term.replace(" ", "-"))
        lines.add(f"{term} std:term -1 {anchor} -")
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = "".join(line + "\n" for line in sorted(lines))
    path.write_bytes(header.encode() + zlib.compress(body.encode(), 9))
    return len(lines)


def main(argv=None):
    """Write the inventories of the libraries named in ``argv`` (default: all)."""
    import warnings

    names = (argv if argv is not None else sys.argv[1:]) or list(LIBRARIES)
    warnings.simplefilter("ignore")  # deprecation noise from importing every module
    for lib in names:
        project, dist = PROJECTS[lib]
        try:
            version = sys.version.split()[0] if dist is None else _version(dist)
            entries, labels, terms, term_uri = LIBRARIES[lib]()
        except ImportError as exc:
            print(f"{lib}: not installed, skipped ({exc})")
            continue
        n = write_inventory(HERE / f"{lib}.inv", project, version, entries, labels, terms, term_uri)
        print(f"{lib}: {n} entries from {project} {version} -> {URLS[lib]}")


def _version(module):
    return str(getattr(importlib.import_module(module), "__version__", ""))


if __name__ == "__main__":
    main()
