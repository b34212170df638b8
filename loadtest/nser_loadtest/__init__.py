"""Load generation against the MEC inference service (open and closed loop) and its reports."""
