"""The certification service: Open Badges 3.0 credentials for approved fieldwork, verification and credit."""
