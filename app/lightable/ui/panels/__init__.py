"""Dock panels: labels and jobs here; layers, history, properties and tags by the canvas team."""
