"""The ``acsync`` command line: sandboxes, the local run, and operator commands."""
