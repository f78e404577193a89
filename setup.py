"""Builds the one C extension; everything else is in pyproject.toml.

The extension is optional: without a C compiler the install still works and the folder
evaluations fall back to Pillow's decoder and numpy counting (same numbers, several times slower).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("panoptix.metrics._labelpng", ["src/panoptix/metrics/_labelpng.c"],
                             extra_compile_args=["-O3"], optional=True)])
