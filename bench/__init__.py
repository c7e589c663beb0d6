"""Benchmarks of Social Sync (`make bench`): they print tables and never fail a build on a number."""
