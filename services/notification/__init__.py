"""The notification service: tells people and organisations what happened, in-app, by email and by webhook."""
