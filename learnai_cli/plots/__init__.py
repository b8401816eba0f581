"""Plots drawn from a run's files, never from a live model: a run's figures (figures.py: loss curves, confusion
matrices, fits, landscapes), several runs on one chart (compare.py) and the helper process that draws a run's final
plots while it trains (process.py). Importing this package imports neither matplotlib nor torch: each module
imports matplotlib where it draws.
"""
