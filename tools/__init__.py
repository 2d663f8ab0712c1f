"""Tools for people and tests alike: `python3 tools/<name>.py`, or
`from tools import <name>`."""
