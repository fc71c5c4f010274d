"""Batch jobs: pull -> render -> deliver for one destination, with state, a lock and catch-up."""
