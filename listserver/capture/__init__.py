"""Capture: a form submission becomes a pending contact; progressive profiling; bot defences."""
