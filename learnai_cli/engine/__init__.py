"""The training engine: devices, batching, the trainer loop, evaluation, checkpoints, progress."""
