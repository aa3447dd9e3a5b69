"""The unique event per endpoint of a delivery names its tenant, as every unique constraint of a
tenant-owned table does (docs/scaling.md: Citus)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('partners', '0007_partner_api_resources'),
        ('tenants', '0006_reconnect_reason'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='webhookdelivery',
            name='delivery_event_unique_per_endpoint',
        ),
        migrations.AddConstraint(
            model_name='webhookdelivery',
            constraint=models.UniqueConstraint(fields=('tenant', 'endpoint', 'event_uid'), name='delivery_event_unique_per_endpoint'),
        ),
    ]
