"""Bounces, complaints and engagement: reading what providers and bounce mail report, and acting on it."""
