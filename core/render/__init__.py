"""Rendering: plotly charts (charts), CSV / Excel / PDF files (exports) and report builders (reports). No
plan checks here (core.services.exports checks them before rendering). May import core.forecast,
core.advisors, core.places and core.calibration; never accounts, billing or the database.
"""
