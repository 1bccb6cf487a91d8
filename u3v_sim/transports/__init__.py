"""Transports: thin adapters that carry the camera's endpoints to a host."""

# umockdev's preload library: a client process started with it in LD_PRELOAD (and
# UMOCKDEV_DIR naming the testbed) sees the simulated cameras. Here, not in umockdev.py, so
# that light modules (the CLI's env, the pytest plugin) need not load GI to name it.
PRELOAD_LIBRARY = "libumockdev-preload.so.0"
