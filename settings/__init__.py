"""The settings layer: params.yaml's schema and loader, and the user-error base class.

The bottom of the import graph: every package may import it, it imports none of them.
"""
