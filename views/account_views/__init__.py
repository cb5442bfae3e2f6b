"""Sections of the Account page that have their own module (views/account.py lays them out)."""
