"""Builds the one C extension; everything else is in pyproject.toml.

The extension is optional: without a C compiler the install still works and the folder
label PNGs are decoded by Pillow and pairs counted by numpy (same numbers, several times slower).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("panoptix._speedups", ["src/panoptix/_speedups.c"],
                             extra_compile_args=["-O3"], optional=True)])
