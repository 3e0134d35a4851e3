"""Ingest: MQTT readings → history store → sinks (the detector), acked only after the write."""
