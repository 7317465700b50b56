"""Bodies of ``clearcount`` subcommands that need more than a few lines (``run(args) -> int``)."""
