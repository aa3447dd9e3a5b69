import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox", "0003_chargebacks"),
    ]

    operations = [
        migrations.AddField(
            model_name="faultsettings",
            name="refund_delay_seconds",
            field=models.PositiveIntegerField(
                default=0,
                help_text="How long a new refund stays in process at least; 0: until the next "
                "read or settlement.",
            ),
        ),
        migrations.AddField(
            model_name="faultsettings",
            name="refund_outcome",
            field=models.CharField(
                choices=[
                    ("approved", "Approved"),
                    ("rejected", "Rejected"),
                    ("pending", "Pending"),
                ],
                default="approved",
                help_text="How refunds in process end at settlement: approved, rejected, or kept "
                "in process (pending).",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="refund",
            name="last_updated",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="refund",
            name="settle_after",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="refund",
            name="status",
            field=models.CharField(
                choices=[
                    ("in_process", "In Process"),
                    ("approved", "Approved"),
                    ("rejected", "Rejected"),
                ],
                default="approved",
                max_length=12,
            ),
        ),
    ]
