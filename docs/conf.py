"""Sphinx configuration: myst-parser for the Markdown pages, numpydoc + autosummary for the API,
sphinx-gallery for examples/.  Builds offline (no intersphinx) and warning-free with ``-W``."""

import os
import pathlib
import sys

# Build the docs of this checkout, whatever skjacnet is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
os.environ.setdefault("MPLBACKEND", "Agg")

import skjacnet  # noqa: E402

project = "skjacnet"
author = "skjacnet developers"
copyright = "skjacnet developers"
release = version = skjacnet.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build"]

# Markdown pages are also read on GitHub, so they keep plain Markdown; myst adds heading anchors.
myst_heading_anchors = 3

autosummary_generate = True
# The class template documents skjacnet's own methods (fit, predict, inverse_transform, ...) on
# the class page; the generic scikit-learn ones (score, get_params, ...) refer to scikit-learn's
# glossary, which is not available offline.
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = True

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "capture_repr": (),  # show printed output only, not the repr of a block's last Figure
    # Every example runs at build time; a failing one fails the build.
    "abort_on_example_error": True,
}

html_theme = "pydata_sphinx_theme"
html_title = f"skjacnet {version}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = ["_static"]
html_css_files = ["skjacnet.css"]  # wide tables scroll, long code lines wrap (checked in headless Chromium)
