from acclient.resources.base import Page
from acclient.resources.bulk_import import BulkImport, chunk_contacts
from acclient.resources.connections import Connections
from acclient.resources.contacts import Contacts
from acclient.resources.ecom_customers import EcomCustomers
from acclient.resources.ecom_orders import SOURCE_REALTIME, SOURCE_SYNC, EcomOrders, OrderProduct

__all__ = [
    "SOURCE_REALTIME",
    "SOURCE_SYNC",
    "BulkImport",
    "Connections",
    "Contacts",
    "EcomCustomers",
    "EcomOrders",
    "OrderProduct",
    "Page",
    "chunk_contacts",
]
