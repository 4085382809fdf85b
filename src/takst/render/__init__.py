"""Results rendered for people and programs: tables, worksheets, JSON, CSV."""
