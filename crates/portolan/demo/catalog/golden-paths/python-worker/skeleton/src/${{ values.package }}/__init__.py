"""${{ values.name }}: a queue worker made from Northwind's python-worker golden path (1.1.0)."""

__version__ = "0.1.0"
