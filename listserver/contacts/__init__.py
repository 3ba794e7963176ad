"""Contacts: the one state machine of statuses, their answers and links, and the reads and the
one serializer every other part shares."""
