"""``from acclient.bulk_import import chunk_contacts``: the bulk contact import's helpers and limits."""

from acclient.resources.bulk_import import MAX_BODY_BYTES, MAX_CONTACTS, BulkImport, chunk_contacts, import_body

__all__ = ["MAX_BODY_BYTES", "MAX_CONTACTS", "BulkImport", "chunk_contacts", "import_body"]
