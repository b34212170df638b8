"""Credentials: TLS loaded at run time, the development PKI, API tokens, secret files and
Redis URLs."""
