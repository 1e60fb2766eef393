"""The command line (``netsense``): argument parsing and printing, one module per command
family, each with ``register(subparsers)``; :func:`.main.main` is the entry point. The top
layer: nothing below imports it."""
