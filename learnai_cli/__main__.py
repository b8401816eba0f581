"""`python -m learnai_cli` runs the same CLI as the `learnai` script."""

from learnai_cli.cli import main

main()
