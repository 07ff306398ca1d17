"""The shared core: settings, events, logging, observability and the queue plumbing (docs/architecture.md).

Every other package may import it; it imports none of them.
"""
