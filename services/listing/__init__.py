"""The listing service: organisations and micro-internship listings (port 8001)."""
