"""What visitors and subscribers reach: hosted forms, the embed script's endpoints, personal-link pages."""
