"""Command-line interface: `skysegui` (no arguments: the GUI) and its subcommands."""
