"""Who may use the console and the API: users, roles, tokens, masking of personal data."""
