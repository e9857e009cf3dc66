"""The office in a browser: `loket serve` (TV display, visitor page, JSON API)."""
