"""What an operator sees: logs with request ids, Prometheus metrics, health and readiness."""
