import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox", "0002_faultsettings_authorizationcode_delivery_and_more"),
    ]

    operations = [
        migrations.CreateModel(
            name="Chargeback",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("chargeback_id", models.CharField(max_length=32, unique=True)),
                ("currency", models.CharField(max_length=3)),
                ("amount", models.DecimalField(decimal_places=2, max_digits=14)),
                (
                    "status",
                    models.CharField(
                        choices=[("opened", "Opened"), ("closed", "Closed")],
                        default="opened",
                        max_length=8,
                    ),
                ),
                ("coverage_applied", models.BooleanField(default=False)),
                ("coverage_elegible", models.BooleanField(default=True)),
                ("documentation_required", models.BooleanField(default=True)),
                ("documentation_status", models.CharField(default="pending", max_length=20)),
                ("date_documentation_deadline", models.DateTimeField()),
                ("date_created", models.DateTimeField(default=django.utils.timezone.now)),
                ("date_last_updated", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chargebacks",
                        to="sandbox.account",
                    ),
                ),
                (
                    "payment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chargebacks",
                        to="sandbox.payment",
                    ),
                ),
            ],
            options={"ordering": ["-pk"]},
        ),
    ]
