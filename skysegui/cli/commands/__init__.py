"""One module per subcommand. Each defines `register(subparsers)` which adds a parser
whose default `func(args) -> int` runs the command. Modules are found automatically."""
