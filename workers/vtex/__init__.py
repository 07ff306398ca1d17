"""VTEX: a small client for the APIs the pipeline reads, and a local sandbox of them."""

from workers.vtex.client import (
    VTEXClient,
    VTEXError,
    VTEXNotFound,
    VTEXRateLimited,
    VTEXServerError,
    VTEXTransportError,
)

__all__ = ["VTEXClient", "VTEXError", "VTEXNotFound", "VTEXRateLimited", "VTEXServerError", "VTEXTransportError"]
