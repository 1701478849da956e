"""Static shape checking: the checker behind `shapesafe check` and the mypy plugin."""

from ._report import Finding as Finding
from ._report import Stats as Stats
from ._run import Run as Run
from ._run import check_file as check_file
from ._source import fingerprint as fingerprint
from ._source import has_contract as has_contract
