"""Places: geography (geo), place names and the one name matcher (names), city search and filters (explore),
choropleths (choropleth), city data from the database (citydata), the build of the shipped city tables
(data_build) and search-interest signals by city (trends). May import core.forecast (the city arrays),
core.db and core.accounts (trends stores per user).
"""
