"""The subscriber's own controls: preferences, unsubscribe, data rights."""
