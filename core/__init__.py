"""AI-Commerce Intelligence Platform: domain logic and adapters (no UI)."""

__version__ = "0.1.0"
