"""The ``panoptix`` command line: thin shells that parse, call the library and present."""
