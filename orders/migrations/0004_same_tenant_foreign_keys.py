"""Orders, their lines, payments, refunds, Mercado Pago calls and notifications point only to rows
of their own seller, enforced by the database (tenants/db.py)."""

from django.db import migrations

import tenants.db


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0003_notification_notification_tenant_received"),
        ("pos", "0003_same_tenant_foreign_keys"),
    ]

    operations = [
        tenants.db.AddSameTenantConstraint(model_name="order", name="pos"),
        tenants.db.AddSameTenantConstraint(model_name="orderitem", name="order"),
        tenants.db.AddSameTenantConstraint(model_name="payment", name="order"),
        tenants.db.AddSameTenantConstraint(model_name="refund", name="order"),
        tenants.db.AddSameTenantConstraint(model_name="refund", name="payment"),
        tenants.db.AddSameTenantConstraint(model_name="mercadopagocall", name="order"),
        # The inbox's tenant is empty until processing resolves it (MATCH SIMPLE: not checked
        # until then); once set, its order must be that tenant's.
        tenants.db.AddSameTenantConstraint(model_name="notification", name="order"),
    ]
