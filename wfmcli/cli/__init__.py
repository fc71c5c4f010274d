"""The wfm command line: thin command modules that parse, call the core and render the result."""
