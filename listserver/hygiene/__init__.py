"""List hygiene: the rules that keep the list clean (soft bounces, the sunset, never-confirmed
sign-ups, stale answers), their preview, the daily run with its lock and summary, and list health."""
