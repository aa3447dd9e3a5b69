"""A running request holds its Idempotency-Key for a lease, then a retry may take it over."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0003_same_tenant_foreign_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotentrequest",
            name="attempt",
            field=models.PositiveSmallIntegerField(
                default=1, help_text="1, plus one for each retry that took the key over."
            ),
        ),
        migrations.AddField(
            model_name="idempotentrequest",
            name="lease_until",
            field=models.DateTimeField(
                blank=True,
                help_text="Until when the running attempt holds the key (none: expired).",
                null=True,
            ),
        ),
    ]
