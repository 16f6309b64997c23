"""Mercado Pago's reconciliation reports (settlement and release CSV) and the report-ready
notification, as pure modules: bytes in, typed records out. Storage and HTTP sit on top."""
