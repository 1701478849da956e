"""A made-up package that turns the checks on in its own `__init__.py`."""

import shapesafe

shapesafe.check_package(__name__)

from .layers import head  # noqa: E402

__all__ = ["head"]
