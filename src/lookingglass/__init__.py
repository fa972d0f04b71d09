"""LookingGlass: find every face, index it, and show where a person appears."""

__version__ = "0.1.0"
