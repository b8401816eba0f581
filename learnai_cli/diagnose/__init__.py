"""`learnai diagnose`: whether a run learned, and why not, from the files it wrote (no torch). finding.py holds a
finding and the run view the rules read; curves.py the rules on the loss curves (lr too high or too low, not
converged, overfitting, no better than the trivial baseline, ...); setup.py the rules on the data and model set-up
(tiny or overlapping splits, imbalanced classes, unscaled inputs, extra outputs, a frozen random backbone)."""

from learnai_cli.diagnose.report import diagnose_and_save, diagnose_run, write_diagnosis

__all__ = ["diagnose_and_save", "diagnose_run", "write_diagnosis"]
