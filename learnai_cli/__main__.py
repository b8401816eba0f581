"""`python -m learnai_cli` runs the same CLI as the `learnai` script."""

import sys

from learnai_cli.commands.stopping import install_interrupt_handlers

install_interrupt_handlers()  # before the slow imports: Ctrl-C or SIGTERM now exits 130 with one line
try:
    from learnai_cli.cli import main
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)

main()
