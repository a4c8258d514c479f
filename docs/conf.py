"""Sphinx configuration of the sklearn-lravae documentation."""

import os
import sys
from pathlib import Path

import sklearn_lravae

sys.path.insert(0, str(Path(__file__).resolve().parent))

project = "sklearn-lravae"
author = "sklearn-lravae developers"
copyright = "2026, sklearn-lravae developers"
release = version = sklearn_lravae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
html_theme = "pydata_sphinx_theme"
html_title = "sklearn-lravae"
html_static_path = []
html_theme_options = {"navigation_with_keys": False}

intersphinx_mapping = {}  # no network on the build machines

# The gallery runs every examples/plot_*.py (a few minutes on 2 CPU cores; .ci/docs does
# this). LRAVAE_DOCS_QUICK=1 runs only the fastest one, for a smoke build; the others are
# then shown without their output.
QUICK = os.environ.get("LRAVAE_DOCS_QUICK") == "1"
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_lre_digits\.py" if QUICK else r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    # "Examples using X" under each API page (see _templates/class.rst)
    "doc_module": ("sklearn_lravae",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_lravae": None},
}


def _write_cli_help():
    """Write ``lravae --help`` and each subcommand's help for ``cli.rst``."""
    os.environ["COLUMNS"] = "90"  # argparse wraps to the terminal width
    from sklearn_lravae._cli import build_parser

    parser = build_parser()
    parts = ["$ lravae --help", parser.format_help()]
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, subparser in sub.choices.items():
        parts += [f"$ lravae {name} --help", subparser.format_help()]
    out = Path(__file__).resolve().parent / "generated" / "cli_help.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(parts))


_write_cli_help()


def _skip_sklearn_plumbing(app, what, name, obj, skip, options):
    """Hide scikit-learn's generated metadata-routing methods from the API pages."""
    if name.startswith("set_") and name.endswith("_request") or name == "get_metadata_routing":
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_plumbing)
