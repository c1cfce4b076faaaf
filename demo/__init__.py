"""`make demo`: one micro-internship told end to end through the running platform's public HTTP APIs."""
