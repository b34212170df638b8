"""The REST services' shared skeleton: app, auth, limits, docs, operational routes, and
the outbound side (URL checks, signed notifications)."""
