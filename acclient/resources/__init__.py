from acclient.resources.base import Page
from acclient.resources.connections import Connections
from acclient.resources.contacts import Contacts
from acclient.resources.ecom_customers import EcomCustomers
from acclient.resources.ecom_orders import SOURCE_REALTIME, SOURCE_SYNC, EcomOrders, OrderProduct

__all__ = [
           "SOURCE_REALTIME",
           "SOURCE_SYNC",
           "Connections",
           "Contacts",
           "EcomCustomers",
           "EcomOrders",
           "OrderProduct",
           "Page",
]
