"""Lists out of listserver: who may be mailed, exports."""
