"""Stores, points of sale, orders (legacy and v1), payments, refunds, merchant orders."""
