"""Lightable: a desktop annotation IDE for computer-vision data sets."""

__version__ = "0.1.0"
