"""`python -m learnai_cli` runs the same CLI as the `learnai` script."""

import sys

try:  # everything inside: a Ctrl-C or SIGTERM at any moment of start-up exits 130 with one line
    from learnai_cli.commands.train.stopping import install_interrupt_handlers

    install_interrupt_handlers()  # before the slow imports: SIGTERM now interrupts like Ctrl-C
    from learnai_cli.cli import run

    run()
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)
