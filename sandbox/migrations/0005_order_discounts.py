from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox", "0004_refund_processing"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="discounts",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
