"""The decision layer: turns negative screams in the results stream into incidents and alerts
for responders, and serves the alert history over REST."""
