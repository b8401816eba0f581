"""`learnai lr-find`: a learning-rate range test. sweep.py trains a fresh copy of the config's model while the lr
grows exponentially (torch); curve.py reads the recorded curve and decides the suggestion, or why there is none
(pure Python, no torch); run.py ties them to the CLI: the config, the plot in the runs root's lr_find/ folder and
the result."""
