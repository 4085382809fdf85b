"""takst standard library: reusable .tariff modules (package data)."""
