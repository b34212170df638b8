"""`nser up`: the whole simulated 5G MEC network on one machine, as child processes on loopback
ports: Redis, the MEC inference service, the analytics and decision services, the sensing
clients playing a scenario with known ground truth, and Prometheus when it is installed."""
