"""The sensing layer: simulated phones, watches and voice assistants that turn audio into mel
feature windows on the device and send only those, over a simulated 5G link, to the MEC."""
