"""The agents' analytic cores: ad budget curves and split (budget), supply and landed cost (supply), sales
channels (sales) and the product analysis (product_analysis). Pure domain code; may import core.forecast,
core.places and the shared kernel. The agents (agents/) word what these compute.
"""
