"""The views of the Results page, one module each; results.py lays out the header, what-if and dispatch."""
