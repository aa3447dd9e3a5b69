"""A legacy dynamic QR whose create got no answer keeps its reference taken: Mercado Pago may hold
that order, and a second one with the same reference would be a duplicate there."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_same_tenant_foreign_keys"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="order",
            name="order_external_reference_unique_per_tenant",
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.UniqueConstraint(
                condition=~models.Q(status="failed") | models.Q(error_code="mercadopago_no_answer"),
                fields=("tenant", "external_reference"),
                name="order_external_reference_unique_per_tenant",
                violation_error_message="This seller already has an order with this reference.",
            ),
        ),
    ]
