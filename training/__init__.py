"""Headless training recipes (run from the repository root: `python -m training.<recipe>`)."""
