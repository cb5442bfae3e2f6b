"""Geodesy helpers."""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius


def haversine_km(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km from one point to many (haversine formula)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere (n x 3) for latitudes and longitudes in degrees: Euclidean nearest
    neighbours among them are great-circle nearest neighbours (a k-d tree instead of a haversine ball tree)."""
    la, lo = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def chord_to_km(chord: np.ndarray) -> np.ndarray:
    """Great-circle distance in km for a straight-line distance between two points of the unit sphere."""
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord, float) / 2, 0.0, 1.0))


def mercator_px(lat: np.ndarray, lon: np.ndarray, zoom: float) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator screen coordinates in pixels at ``zoom`` (512-pixel world at zoom 0, deck.gl's)."""
    scale = 512 * 2**zoom
    x = (np.asarray(lon, float) + 180) / 360 * scale
    lat_r = np.radians(np.clip(np.asarray(lat, float), -85.0511, 85.0511))
    y = (1 - np.log(np.tan(lat_r) + 1 / np.cos(lat_r)) / np.pi) / 2 * scale
    return x, y


def spaced_labels(
    lat: np.ndarray, lon: np.ndarray, zoom: float, n: int, width_px: float = 110.0, height_px: float = 18.0
) -> list[int]:
    """Positions (in the given order, best first) of at most ``n`` points whose labels, drawn to the right
    of each point ``width_px`` x ``height_px`` at ``zoom``, do not overlap a label already placed."""
    x, y = mercator_px(lat, lon, zoom)
    placed: list[int] = []
    for i in range(len(x)):
        if all(abs(x[i] - x[j]) >= width_px or abs(y[i] - y[j]) >= height_px for j in placed):
            placed.append(i)
            if len(placed) == n:
                break
    return placed
