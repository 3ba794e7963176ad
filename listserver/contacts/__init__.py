"""Contacts: the one state machine of statuses, their links, and the reads every other part shares."""
