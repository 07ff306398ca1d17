"""What ingest, the workers, the writers and the CLI share (Redis connections so far; docs/architecture.md)."""
