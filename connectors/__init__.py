"""Marketplace connectors: one module per marketplace behind one interface (connectors.base).

Each is a real client of the marketplace's documented API (Shopify Admin GraphQL, Etsy Open API v3),
tested against local servers that speak those wire formats. Orders are reduced at once to what the
calibration needs (order id, date, city, region, country, quantity, amount): no names, e-mails or
street addresses are kept.
"""
