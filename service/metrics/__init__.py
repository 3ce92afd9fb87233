"""Prometheus metrics: the instruments the code observes, the gauges read from the database, and their exposition."""
