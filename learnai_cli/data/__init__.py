"""Dataset builders, one module per source; importing a module registers its datasets."""
