"""The device's front end: audio in, log-mel tensor out."""
