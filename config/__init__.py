"""Configuration: the TOML file as validated settings (pydantic).

The ground every other layer stands on; it imports only the machines' own config types."""
