"""One module per verb the user types (train, evaluate, predict, export, sweep, runs, init, plot, ...):
each takes plain values, does the work, and returns a dict the CLI renders or prints as JSON."""
