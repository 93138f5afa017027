"""The `flowctl` command line: thin cyclopts commands over the library."""
