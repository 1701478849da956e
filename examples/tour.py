"""Run every lesson in order, each under a one-line heading: `python examples/tour.py`."""

import os
import runpy
import sys
import time
from collections.abc import Callable
from pathlib import Path

import _show

HERE = Path(__file__).resolve().parent


def lessons() -> list[Path]:
    """The numbered lesson scripts, in order."""
    return sorted(HERE.glob("[0-9][0-9]_*.py"))


def run_lesson(path: Path) -> None:
    """Print a lesson's heading, then run its `main()` (its `__main__` block stays idle)."""
    namespace = runpy.run_path(str(path), run_name=f"lesson_{path.stem}")
    _show.heading(namespace.get("__doc__"), path.stem[:2])
    main: Callable[[], None] = namespace["main"]
    main()


def tour() -> None:
    start = time.perf_counter()
    paths = lessons()
    for i, path in enumerate(paths, start=1):
        if i > 1:
            print()
        run_lesson(path)
    elapsed = time.perf_counter() - start
    print()
    print(
        f"== all {len(paths)} lessons ran; {len(_show.caught)} mistakes caught "
        f"as ShapeErrors ({elapsed:.1f} s)"
    )
    print("== next: python examples/tiny_gpt.py trains a small GPT built from shapesafe.nn")


if __name__ == "__main__":
    try:
        tour()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped early (`tour.py | head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
