"""Sphinx helpers of the sklearn-lravae docs (loaded by ``conf.py`` as an extension).

- :func:`intersphinx_mapping`: the real inventories when the sites are reachable,
  the bundled ``_intersphinx/*.inv`` otherwise (no network on the build machines);
- :func:`write_cli_reference`: one section per ``lravae`` subcommand with every
  option, generated from the argparse parser;
- signature and reference fixes: class defaults shown as ``torch.optim.Adam``
  instead of ``<class 'torch.optim.adam.Adam'>``; re-exported names (as written
  in docstrings) resolved to where their library documents them.
"""

import argparse
import importlib
import os
import re
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(DOCS / "_intersphinx"))

from make_inventories import URLS  # noqa: E402

# ----------------------------------------------------------------- intersphinx


def _reachable(url, timeout=3.0):
    request = urllib.request.Request(url + "objects.inv", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200
    except Exception:
        return False


def intersphinx_mapping():
    """The ``intersphinx_mapping`` of the docs, and a line saying what it uses.

    Each library maps to its documentation URL. When the site answers (and
    ``LRAVAE_DOCS_OFFLINE`` is not ``1``) Sphinx downloads the real inventory and
    falls back on the bundled one; otherwise only the bundled inventory, written
    by ``docs/_intersphinx/make_inventories.py``, is read. Libraries without a
    bundled inventory are left out.

    Returns
    -------
    mapping : dict
        The value for ``intersphinx_mapping``.
    summary : str
        One line naming the online, offline and skipped libraries.
    """
    local = {lib: DOCS / "_intersphinx" / f"{lib}.inv" for lib in URLS}
    skipped = sorted(lib for lib, path in local.items() if not path.exists())
    libs = [lib for lib in URLS if lib not in skipped]
    online = {}
    if os.environ.get("LRAVAE_DOCS_OFFLINE") != "1":
        with ThreadPoolExecutor(len(libs)) as pool:
            online = dict(zip(libs, pool.map(lambda lib: _reachable(URLS[lib]), libs)))
    mapping = {}
    for lib in libs:
        path = str(local[lib])
        mapping[lib] = (URLS[lib], (None, path) if online.get(lib) else path)
    remote = [lib for lib in libs if online.get(lib)]
    bundled = [lib for lib in libs if not online.get(lib)]
    parts = []
    if remote:
        parts.append("downloaded for " + ", ".join(remote))
    if bundled:
        parts.append("bundled docs/_intersphinx/*.inv for " + ", ".join(bundled))
    if skipped:
        parts.append("skipped (no bundled inventory): " + ", ".join(skipped))
    return mapping, "intersphinx inventories: " + "; ".join(parts)


#: names as docstrings write them -> where their library documents them
REF_ALIASES = {
    "skorch.NeuralNet": "skorch.net.NeuralNet",
    "skorch.History": "skorch.history.History",
}


def _resolve_alias(app, env, node, contnode):
    """Retry an unresolved reference under the name its library documents."""
    from sphinx.ext.intersphinx import missing_reference

    target = node.get("reftarget", "")
    if target not in REF_ALIASES:
        return None
    node["reftarget"] = REF_ALIASES[target]
    try:
        return missing_reference(app, env, node, contnode)
    finally:
        node["reftarget"] = target


def _resolve_package_name(app, env, node, contnode):
    """Resolve a short name (``SequenceCore``) to the one package object it names.

    Docstrings refer to objects of their own module by short name, but the API
    pages document them under their public path (``chem.make_sequence_core``)
    or, for the network cores, under ``sklearn_lravae._network``.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip("~.")
    if not target or target.startswith("sklearn_lravae."):
        return None
    domain = env.get_domain("py")
    matches = sorted(
        name
        for name in domain.objects
        if name.startswith("sklearn_lravae.") and name.endswith("." + target)
    )
    if not matches:
        return None
    matches.sort(key=len)  # the public path (sklearn_lravae.X) before private ones
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], matches[0], node, contnode
    )


# ----------------------------------------------------------------- autodoc signatures
_CLASS_REPR = re.compile(r"<class '([\w.]+)'>")


def _public_path(dotted):
    """``torch.optim.adam.Adam`` -> ``torch.optim.Adam`` (shortest module exporting it)."""
    module, _, name = dotted.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return dotted
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        parent = ".".join(parts[:i])
        try:
            if getattr(importlib.import_module(parent), name, None) is obj:
                return f"{parent}.{name}"
        except ImportError:
            continue
    return dotted


def _fix_signature(app, what, name, obj, options, signature, return_annotation):
    """Show class defaults by their public name, not their repr."""
    if signature and "<class '" in signature:
        signature = _CLASS_REPR.sub(lambda m: _public_path(m.group(1)), signature)
        return signature, return_annotation
    return None


def _skip_sklearn_plumbing(app, what, name, obj, skip, options):
    """Hide scikit-learn's generated metadata-routing methods from the API pages."""
    if name.startswith("set_") and name.endswith("_request") or name == "get_metadata_routing":
        return True
    return skip


# ----------------------------------------------------------------- the CLI reference
_TYPE_WORDS = {
    "positive_int": "integer >= 1",
    "non_negative_int": "integer >= 0",
    "positive_float": "number > 0",
    "non_negative_float": "number >= 0",
}


def _escape(text):
    """Escape reST inline markup in argparse help text."""
    text = re.sub(r"([*`|\\])", r"\\\1", text)
    return re.sub(r"(\w)_(?=\W|$)", r"\1\\_", text)


def _type_word(action, cli):
    if action.type is None:
        return None
    for attr, word in _TYPE_WORDS.items():
        if action.type is getattr(cli, attr, None):
            return word
    return {int: "integer", float: "number", str: None}.get(action.type)


def _option_lines(action, cli):
    if action.option_strings:
        metavar = None if action.nargs == 0 else (action.metavar or action.dest.upper())
        names = ", ".join(f"{o} {metavar}" if metavar else o for o in action.option_strings)
    else:
        names = action.metavar or action.dest
    help_text = (action.help or "").replace("%(default)s", str(action.default))
    facts = []
    if action.required and action.option_strings:
        facts.append("Required.")
    if action.choices:
        facts.append("One of " + ", ".join(f"``{c}``" for c in action.choices) + ".")
    word = _type_word(action, cli)
    if word:
        facts.append(f"Takes an {word}." if word[0] in "aeiou" else f"Takes a {word}.")
    default = action.default
    shown = default not in (None, False, argparse.SUPPRESS) and action.nargs != 0
    stated = f"({default})" in help_text or f"({_fmt(str(default))})" in _g(help_text)
    if shown and not stated:
        facts.append(f"Default: ``{default}``.")
    body = " ".join([_escape(help_text[:1].upper() + help_text[1:]).rstrip(".") + "."] + facts)
    return [f".. option:: {names}", "", f"   {body}", ""]


def _g(text):
    """``text`` with every number written as ``%g`` (so ``(1e-3)`` matches 0.001)."""
    return re.sub(r"\d[\d.e+-]*", lambda m: _fmt(m.group()), text)


def _fmt(number):
    try:
        return f"{float(number):g}"
    except ValueError:
        return number


def write_cli_reference(path):
    """Write the reST reference of the ``lravae`` command, one section per subcommand.

    Parameters
    ----------
    path : pathlib.Path
        File to write (included by ``cli.rst``).
    """
    os.environ["COLUMNS"] = "88"  # argparse wraps the usage lines to the terminal width
    from sklearn_lravae import _cli as cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    lines = [".. program:: lravae", ""]
    usage = parser.format_usage().removeprefix("usage: ").split("\n")
    lines += ["Usage:", "", ".. code-block:: none", ""] + ["   " + u for u in usage if u] + [""]
    for action in parser._actions:
        if action.dest not in ("help", "command"):
            lines += _option_lines(action, cli)
    for name, subparser in sub.choices.items():
        title = f"lravae {name}"
        lines += [f".. _cli-{name}:", "", title, "~" * len(title), ""]
        lines += [_escape(subparser.description[:1].upper() + subparser.description[1:]) + ".", ""]
        usage = subparser.format_usage().removeprefix("usage: ").split("\n")
        lines += ["Usage:", "", ".. code-block:: none", ""] + ["   " + u for u in usage if u]
        lines += [""]
        lines += [f".. program:: lravae {name}", ""]
        for action in subparser._actions:
            if action.dest != "help":
                lines += _option_lines(action, cli)
        example = (subparser.epilog or "").removeprefix("example:\n").strip()
        if example:
            lines += ["Example:", "", ".. code-block:: bash", "", "   " + example, ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines)
    if not path.exists() or path.read_text() != text:  # keep Sphinx's cache valid
        path.write_text(text)


# ----------------------------------------------------------------- gallery timing
_CPU_AT_START = {}


def _cpu_seconds():
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def example_cpu_time(gallery_conf, fname, when):
    """Record each gallery example's CPU time in ``generated/example_cpu_times.txt``.

    A sphinx-gallery ``reset_modules`` hook (run before and after each
    example). sphinx-gallery itself reports wall-clock times, which depend on
    what else runs on the machine; CPU seconds (all threads of the build
    process and finished child processes) do much less.
    """
    if when == "before":
        _CPU_AT_START[fname] = _cpu_seconds()
    elif fname in _CPU_AT_START:
        seconds = _cpu_seconds() - _CPU_AT_START.pop(fname)
        out = DOCS / "generated" / "example_cpu_times.txt"
        out.parent.mkdir(exist_ok=True)
        with out.open("a") as fh:
            fh.write(f"{Path(fname).name}\t{seconds:.1f}\n")


# ----------------------------------------------------------------- extension
def setup(app):
    """Connect the handlers of this module."""
    app.connect("autodoc-skip-member", _skip_sklearn_plumbing)
    app.connect("autodoc-process-signature", _fix_signature)
    app.connect("missing-reference", _resolve_alias)
    app.connect("missing-reference", _resolve_package_name)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
