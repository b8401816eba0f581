"""`learnai tune`, hyperparameter search on Optuna: the plan and the trial loop (run.py), what was asked and the
checked plan (request.py), the search expressions (search_space.py), the study's storage, sampler and pruner
(study.py), --workers processes (workers.py), which run a trial trained (trials.py), and what a study found and how
to continue it (report.py).

Imports go one way: run.py uses the others; none of them imports run.py.
"""
