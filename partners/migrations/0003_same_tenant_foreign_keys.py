"""Grants' codes and tokens, deliveries and their attempts point only to rows of their own seller,
enforced by the database (tenants/db.py)."""

from django.db import migrations

import tenants.db


class Migration(migrations.Migration):

    dependencies = [
        ("partners", "0002_webhookdelivery_delivery_tenant_created"),
    ]

    operations = [
        tenants.db.AddSameTenantConstraint(model_name="grantedcode", name="grant"),
        tenants.db.AddSameTenantConstraint(model_name="grantedtoken", name="grant"),
        tenants.db.AddSameTenantConstraint(model_name="webhookdelivery", name="endpoint"),
        tenants.db.AddSameTenantConstraint(model_name="deliveryattempt", name="delivery"),
    ]
