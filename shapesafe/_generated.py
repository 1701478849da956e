"""The module of the generated wrappers: its namespace is their globals (see `_codegen`).

Their source is not here: each is compiled under its own name, `<shapesafe._generated OP#N>`,
and registered with `linecache` (see `_traceback`).
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report
