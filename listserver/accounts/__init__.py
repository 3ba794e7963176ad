"""Who may use the console and the API, and what they did: users, roles, tokens, the audit trail,
masking of personal data."""
