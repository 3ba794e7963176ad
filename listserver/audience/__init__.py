"""Lists out of listserver: exports with their log (segments and imports come here)."""
