"""The bulkinsert command line: its commands and shared options."""
