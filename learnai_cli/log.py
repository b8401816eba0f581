"""learnai's messages through the standard logging module: Rich's handler on a terminal, plain lines elsewhere."""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger("learnai")


def configure() -> None:
    """Called once by the CLI; library users keep their own logging setup."""
    if logger.handlers:
        return
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(show_time=False, show_path=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
