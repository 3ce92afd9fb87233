"""The domain: typed, immutable facts about conversations and tickets.

Pure Python. Nothing here performs I/O or imports from the other packages.
"""
