"""Static shape checking: the checker behind `shapesafe check` and the mypy plugin."""

from ._checker import Finding as Finding
from ._checker import Stats as Stats
from ._checker import check_file as check_file
from ._source import fingerprint as fingerprint
from ._source import has_contract as has_contract
