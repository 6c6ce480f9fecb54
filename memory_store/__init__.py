"""hourlens subpackage."""
