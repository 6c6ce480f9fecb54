"""hourlens: agentic retrieval over hour-long videos."""

__version__ = "0.1.0"
