"""Callbacks that write what the trainer reports: run files, the terminal, TensorBoard."""
