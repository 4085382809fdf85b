"""Reading files and registers, and writing outputs atomically."""
