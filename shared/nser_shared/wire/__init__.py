"""What crosses the network: feature windows, class labels, device ids."""
