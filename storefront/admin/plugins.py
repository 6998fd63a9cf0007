"""Back-office plugin pages (list, enable/disable, settings)."""
