"""OAuth authorization codes, webhook deliveries and fault injection."""
