"""NWDAF-like analytics on the results stream (modelled on 3GPP TS 29.520): per-cell and
per-device emotion analytics, NF load and latency, and Nnwdaf event subscriptions with
notifications."""
