"""Soak test for httpops: a bounded mixed workload against local servers (``python -m soak``)."""
