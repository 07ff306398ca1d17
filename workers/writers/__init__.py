"""The ActiveCampaign side of the workers: one writer per AC account draining that account's outbox.

``workers.outbox`` holds what waits; ``account`` runs one account's writer; ``orders`` (GraphQL, in
batches), ``carts`` (v3), ``contacts`` (sync or bulk import) and ``customers`` (reuse of existing
e-commerce customers) write; ``service`` runs a thread per account (``acsync writer``).
"""
