"""The application service: applications, submissions and reviews; a read model of listings."""
