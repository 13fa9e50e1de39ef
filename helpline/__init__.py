"""helpline package."""
