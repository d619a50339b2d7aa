"""clever package."""
