"""A framework-free, typed client of the Mercado Pago HTTP API (no Django import here)."""
