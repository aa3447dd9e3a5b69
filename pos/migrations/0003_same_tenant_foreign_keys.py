"""A point of sale's store is a store of the same seller, enforced by the database
(tenants/db.py)."""

from django.db import migrations

import tenants.db


class Migration(migrations.Migration):

    dependencies = [
        ("pos", "0002_display_token"),
    ]

    operations = [
        tenants.db.AddSameTenantConstraint(model_name="pointofsale", name="store"),
    ]
