"""Model builders, one module per family; importing a module registers its models."""
