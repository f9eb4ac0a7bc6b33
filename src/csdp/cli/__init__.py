"""The ``csdp`` command: service commands over the API, and server commands for operators."""
