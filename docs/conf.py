"""Sphinx configuration of the sklearn-lravae documentation.

Build with ``bash .ci/docs`` (nitpicky, warnings are errors, every gallery example
runs); ``LRAVAE_DOCS_QUICK=1`` runs one example only and ``LRAVAE_DOCS_OFFLINE=1``
skips the reachability check of the intersphinx sites. Helpers live in
``_ext/lravae_docs.py``; see ``contributing.rst`` for the build times.
"""

import os
import sys
from pathlib import Path

import sklearn_lravae

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

from lravae_docs import intersphinx_mapping as _intersphinx  # noqa: E402
from lravae_docs import write_cli_reference  # noqa: E402

project = "sklearn-lravae"
author = "sklearn-lravae developers"
copyright = "2026, sklearn-lravae developers"
release = version = sklearn_lravae.__version__
REPOSITORY = "https://github.com/sklearn-lravae/sklearn-lravae"
PAPER = "https://arxiv.org/abs/2302.02399"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "lravae_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_static",
    "_intersphinx",
    "_ext",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.md5",
    "auto_examples/*.zip",
]
nitpicky = True  # .ci/docs also passes -n

# ----------------------------------------------------------------- API pages
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

# parameter types link to their documentation ("array-like" -> NumPy glossary, ...)
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "LRAVAETransformer": "sklearn_lravae.LRAVAETransformer",
    "LatentBayesSearch": "sklearn_lravae.LatentBayesSearch",
    "SelfiesVectorizer": "sklearn_lravae.chem.SelfiesVectorizer",
    "BaseReference": "sklearn_lravae.reference.BaseReference",
    "VAE": "sklearn_lravae._network.VAE",
    "MLPCore": "sklearn_lravae._network.MLPCore",
    "SequenceCore": "sklearn_lravae._network.SequenceCore",
    "StraightThroughCore": "sklearn_lravae._network.StraightThroughCore",
    "Pipeline": "sklearn.pipeline.Pipeline",
    "estimator": ":term:`estimator <sklearn:estimator>`",
    "regressor": ":term:`regressor <sklearn:regressor>`",
    "RandomState": "numpy.random.RandomState",
    "PathLike": "os.PathLike",
    "LRAVANet": "skorch.net.NeuralNet",  # the package's NeuralNet subclass
    "OptimizeResult": "scipy.optimize.OptimizeResult",
    "ConvergenceWarning": "sklearn.exceptions.ConvergenceWarning",
}
numpydoc_xref_ignore = {
    # words of type descriptions ("list of str of shape (n_samples,)")
    "of", "or", "and", "shape", "default", "optional", "instance", "type", "in", "one",
    "object", "objects", "reference", "distribution", "references", "floats", "callables",
    "numpy", "dtype", "height", "width", "len", "sparse", "matrix",
    # shape names
    "n", "m", "n_samples", "n_features", "n_components", "n_classes", "n_hidden",
    "n_tokens", "n_positions", "n_points", "n_queries", "n_observations", "n_initial",
    "n_evaluated", "n_dims", "n_centres", "n_kept", "n_real", "n_fake", "n_samples_a",
    "n_samples_b", "n_components_mixture", "n_features_in_", "n_output_dims", "n_molecules",
    "n_bits",
    # values
    "nop",
}  # fmt: skip

# ----------------------------------------------------------------- cross-links
intersphinx_mapping, _INTERSPHINX_SUMMARY = _intersphinx()
intersphinx_timeout = 10
print(_INTERSPHINX_SUMMARY)
nitpick_ignore = [
    # torch.nn.Module.forward's docstring, inherited by VAE.forward, says :class:`Module`
    ("py:class", "Module"),
]

# ----------------------------------------------------------------- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-lravae {version}"
html_static_path = ["_static"]
html_css_files = ["lravae.css"]
mathjax_path = "mathjax/tex-chtml.js"  # vendored: formulas render offline
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 8,  # Install ... Benchmarks; the rest under "More"
    "logo": {"text": "sklearn-lravae"},
    "navbar_start": ["navbar-logo", "version"],
    "navbar_persistent": ["search-button"],
    "icon_links": [
        {"name": "Source on GitHub", "url": REPOSITORY, "icon": "fa-brands fa-github"},
        {"name": "Paper (arXiv 2302.02399)", "url": PAPER, "icon": "fa-solid fa-file-lines"},
    ],
    # benchmark pages: room for their wide tables instead of an "On this page" column
    "secondary_sidebar_items": {
        "*": ["page-toc"],  # top-level pages (no "/")
        "generated/*": ["page-toc"],
        "auto_examples/*": ["page-toc"],
    },
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
# pages without sub-pages get no (empty) "Section Navigation" sidebar
html_sidebars = {
    page: []
    for page in [
        "index",
        "install",
        "quickstart",
        "tutorial",
        "cli",
        "faq",
        "changelog",
        "citing",
        "contributing",
        "license",
        "architecture",
    ]
}

# ----------------------------------------------------------------- gallery
# The gallery runs every examples/plot_*.py (.ci/docs does this; times in
# contributing.rst). LRAVAE_DOCS_QUICK=1 runs only the fastest one, for a smoke
# build; the others are then shown without their output.
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
    # CPU seconds per example -> generated/example_cpu_times.txt (contributing.rst)
    "reset_modules": ("matplotlib", "lravae_docs.example_cpu_time"),
    "reset_modules_order": "both",
}

# ----------------------------------------------------------------- generated pages
write_cli_reference(DOCS / "generated" / "cli_reference.inc")
