"""Orders' metadata; payments and refunds get a public id (each row its own)."""

import uuid
from django.db import migrations, models


def give_each_row_a_uid(model_name):
    def forwards(apps, schema_editor):
        model = apps.get_model("orders", model_name)
        for pk in model._base_manager.filter(uid__isnull=True).values_list("pk", flat=True):
            model._base_manager.filter(pk=pk).update(uid=uuid.uuid4())

    return forwards


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0008_order_tenant_paid'),
        ('tenants', '0006_reconnect_reason'),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='metadata',
            field=models.JSONField(blank=True, default=dict, help_text="The partner's own keys and values (strings), returned and searchable.", verbose_name='metadata'),
        ),
        migrations.AddField(
            model_name='payment',
            name='uid',
            field=models.UUIDField(null=True, editable=False, verbose_name='public id'),
        ),
        migrations.RunPython(give_each_row_a_uid('payment'), migrations.RunPython.noop),
        migrations.AlterField(
            model_name='payment',
            name='uid',
            field=models.UUIDField(default=uuid.uuid4, editable=False, verbose_name='public id'),
        ),
        migrations.AddField(
            model_name='refund',
            name='uid',
            field=models.UUIDField(null=True, editable=False, verbose_name='public id'),
        ),
        migrations.RunPython(give_each_row_a_uid('refund'), migrations.RunPython.noop),
        migrations.AlterField(
            model_name='refund',
            name='uid',
            field=models.UUIDField(default=uuid.uuid4, editable=False, verbose_name='public id'),
        ),
        migrations.AddConstraint(
            model_name='payment',
            constraint=models.UniqueConstraint(fields=('tenant', 'uid'), name='payment_uid_unique_per_tenant'),
        ),
        migrations.AddConstraint(
            model_name='refund',
            constraint=models.UniqueConstraint(fields=('tenant', 'uid'), name='refund_uid_unique_per_tenant'),
        ),
    ]
