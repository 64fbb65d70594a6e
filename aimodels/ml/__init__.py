"""Pure-Python and torch models for svgai: no Django imports, so workers and notebooks load it."""
