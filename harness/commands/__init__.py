"""One module per group of `stampede` subcommands."""
