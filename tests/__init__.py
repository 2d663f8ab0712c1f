"""The fork's tests; tests.lib is the library every suite imports."""
