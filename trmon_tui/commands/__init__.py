"""One module per command of the CLI; each exposes run(args) -> exit code."""
