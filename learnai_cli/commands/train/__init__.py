"""`learnai train`: one training run from a config (run.py: build, open the run directory, fit, record how it
ended; the torchrun relaunch), continuing one (resume.py), starting from another run's weights (init_from.py), what
meta.json records at the start (meta.py) and how a training command stops on a signal (stopping.py).

Nothing is imported here: the CLI installs the signal handlers of stopping.py before any heavy import.
"""
