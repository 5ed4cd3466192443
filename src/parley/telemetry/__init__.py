"""What operators see of a node (issue 14, docs/operations.md): Prometheus metrics and JSON logs.

Importable from every layer but domain: it imports nothing of the package but config.
"""
