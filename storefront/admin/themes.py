"""Back-office theme settings page."""
