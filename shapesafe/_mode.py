"""The mode from the environment: `SHAPESAFE_MODE`, read once, when shapesafe is imported.

No torch here: `import shapesafe` reads and validates the variable before anything heavy loads.
"""

import os
from typing import Literal

Mode = Literal["check", "off"]
MODES: tuple[Mode, ...] = ("check", "off")

_raw = os.environ.get("SHAPESAFE_MODE", "check").strip().lower() or "check"
if _raw not in MODES:
    raise ValueError(f"SHAPESAFE_MODE must be one of {MODES}, got {_raw!r}")
ENV_MODE: Mode = _raw
#: With SHAPESAFE_MODE=off at import, `checked` hands back the undecorated function.
DISABLED_AT_IMPORT = ENV_MODE == "off"
